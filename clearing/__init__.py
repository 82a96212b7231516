"""The clearing house: adjustment-fund levies and the year-end gap allocation (issue 4)."""
