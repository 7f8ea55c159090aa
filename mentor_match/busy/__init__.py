"""Busy times from the calendars people keep: a private iCalendar address, fetched in the
background, whose busy events are taken out of their availability for rounds and booking."""
