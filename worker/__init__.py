"""The Celery side of Weeknote: the `celery -A worker.main` entry point and thin tasks that call blog/."""
