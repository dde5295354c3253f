"""The blob store: where attachments' (already encrypted) bytes live (REC-4).

A folder on the embedded default (``DATA_DIR/blobs``), S3-compatible object
storage when ``HOKAN_BLOB_URL=s3://bucket/prefix``. Callers hand over
ciphertext only; the store never sees a key or a plaintext byte.
"""

from hokan.blobs.store import BlobMissing, BlobStore, FolderBlobStore, make_blob_store

__all__ = ["BlobMissing", "BlobStore", "FolderBlobStore", "make_blob_store"]
