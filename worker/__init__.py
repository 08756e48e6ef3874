"""The Celery side of Weeknote: the Celery app bound to Flask, and thin tasks that call blog/."""
