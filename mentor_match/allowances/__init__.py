"""Learning time: what each person is granted a month, who grants it, and asking for more."""
