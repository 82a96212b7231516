"""Read models computed from the fund events: statements, ratios (more come with issue 3)."""
