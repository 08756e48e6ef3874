"""The reader's side: post, tag, archive and search pages, feeds, sitemap, digest web copies, and
the page cache in front of them."""
