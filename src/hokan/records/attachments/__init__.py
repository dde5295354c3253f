"""Files attached to records (REC-4): streamed in, scanned, sealed chunk by chunk, stored."""
