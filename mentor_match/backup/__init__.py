"""Backups of the site's database and restoring them: `flask backup create` / `restore`."""
