"""The My Number vault (MYN-1..7): a separate, encrypted and split data area."""
