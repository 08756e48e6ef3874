"""The archive: every published post by year and month, in the site's time zone."""


def test_archive_groups_posts_by_year_and_month(client, write_post, import_posts):
    write_post("2023-12-31-eve.md", "---\ntitle: New Year's Eve\n---\n\nBye.")
    write_post("2024-01-15-mid.md", "---\ntitle: Mid January\n---\n\nHi.")
    write_post("2024-03-02-spring.md", "---\ntitle: Spring\n---\n\nSun.")
    write_post("2024-03-01-draft.md", "---\ntitle: Draft\ndraft: true\n---\n\nNo.")
    import_posts()
    page = client.get("/archive/").text
    order = [
        '<h2 id="year-2024">2024</h2>', "<h3>March</h3>", "Spring",
        "<h3>January</h3>", "Mid January",
        '<h2 id="year-2023">2023</h2>', "<h3>December</h3>", "New Year&#39;s Eve",
    ]  # fmt: skip
    positions = [page.index(item) for item in order]
    assert positions == sorted(positions)
    assert "Draft" not in page
    # The year heads the section: a date under it does not repeat it (and never wraps).
    assert '<time datetime="2024-03-02T00:00:00+00:00">2 March</time>' in page
    assert "2024</time>" not in page and "2024</h3>" not in page


def test_archive_months_follow_the_site_time_zone(app, client, write_post, import_posts):
    write_post("late.md", "---\ntitle: Late Night\ndate: 2024-01-31T23:30:00+00:00\n---\n\nLate.")
    import_posts()
    app.config["TIMEZONE"] = "Europe/Berlin"  # 00:30 on 1 February there
    page = client.get("/archive/").text
    assert "<h3>February</h3>" in page and ">1 February</time>" in page


def test_archive_runs_a_fixed_number_of_queries(client, write_post, import_posts, count_statements):
    for day in range(1, 20):
        write_post(f"2022-{day % 12 + 1:02d}-{day:02d}-p.md", f"---\ntitle: P{day}\ntags: [a]\n---\n\nText.")
    import_posts()
    assert len(count_statements(lambda: client.get("/archive/"))) <= 3  # site state, settings, months
