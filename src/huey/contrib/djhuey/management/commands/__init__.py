"""``manage.py run_huey``."""
