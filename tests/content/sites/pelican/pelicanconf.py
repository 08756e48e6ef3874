AUTHOR = "A. Gardener"
SITENAME = "Compost Heap"
SITEURL = ""
PATH = "content"
TIMEZONE = "Europe/Paris"
ARTICLE_URL = "blog/{slug}.html"
ARTICLE_SAVE_AS = "blog/{slug}.html"
STATIC_PATHS = ["images"]
