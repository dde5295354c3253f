"""The mail outbox: notices are queued in the unit of work that decides them and
delivered after commit (SMTP with ``HOKAN_SMTP_URL``, else ``.eml`` files)."""

from hokan.mail.outbox import deliver, enqueue

__all__ = ["deliver", "enqueue"]
