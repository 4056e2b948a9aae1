"""HTML report rendering: call trees for the flame graph viewer and the report page."""
