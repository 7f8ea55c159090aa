"""Calendars: sessions as iCalendar events, each person's private feed, video links, reminders."""
