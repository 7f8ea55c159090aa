"""After a session: host-verified hours, observations, practice, feedback and the change log."""
