"""Reports for admins: verified hours, participation and the skills gap, on screen and as CSV."""
