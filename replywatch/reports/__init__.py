"""Every read-side query: weekly metrics, the funnel, the contacts export and summary, status, names."""
