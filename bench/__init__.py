"""`make bench`: a 1M-row import end to end, beside the naive path and the COPY ceiling."""
