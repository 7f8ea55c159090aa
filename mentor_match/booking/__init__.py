"""Booking shadowing sessions: open slots, book, join, move and cancel, never double booked."""
