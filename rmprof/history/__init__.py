"""History: every run's figures kept in one SQLite file, and trend charts with detected change points."""
