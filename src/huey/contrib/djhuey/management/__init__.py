"""Django management commands of huey (``run_huey``)."""
