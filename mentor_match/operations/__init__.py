"""Running the site in production: the settings it refuses to start without, and the schedule.

`make serve` and the Procfile's `release:` line run `python -m mentor_match.operations.settings`
first; `flask scheduler` queues the recurring jobs of `schedule` with RQ's cron scheduler.
"""
