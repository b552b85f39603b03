"""`replywatch run`: every source on its own schedule, leases shared with other daemons, housekeeping."""
