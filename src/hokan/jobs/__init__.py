"""The worker: scheduled controls declared in each domain's ``tasks.py`` (ADR 0017).

``registry`` collects and validates the jobs, ``runner`` runs one and records it,
``leader`` elects the one worker that schedules, ``worker`` is the process loop,
``api`` shows jobs and their history to operators.
"""
