"""The names of the worker's tasks: the contract between blog/ and worker/.

blog/ sends tasks by these names (send_task) and never imports worker/; worker/tasks.py
registers a task under each name. Renaming one is a change on both sides.
"""

SEND_CONFIRMATION = "weeknote.send_confirmation"
SEND_WELCOME = "weeknote.send_welcome"
SEND_DIGEST = "weeknote.send_digest"
DISPATCH_DIGESTS = "weeknote.dispatch_digests"
SWEEP_MAIL = "weeknote.sweep_mail"
TIDY_SUBSCRIBERS = "weeknote.tidy_subscribers"
POLL_BOUNCES = "weeknote.poll_bounces"
IMPORT_UPLOAD = "weeknote.import_upload"
