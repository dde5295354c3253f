"""The weekly clock check (MON-8): this host's clock against the configured NTP servers."""
