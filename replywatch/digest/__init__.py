"""The Monday digest: contact per store and for the group, beside last week and the baseline, by mail."""
