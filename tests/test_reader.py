import pytest

from blog.content import ContentError
from blog.content.reader import read_source


def test_reads_utf8_and_normalises_newlines_and_bom(write_post):
    path = write_post("a.md", "\ufefftitle\r\nline\r".encode())
    text, raw = read_source(path)
    assert text == "title\nline\n"
    assert raw.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"---\ntitle: caf\xe9\n---\n", "not UTF-8: byte 0xe9 at offset 14"),
    ],
)
def test_refuses_what_is_not_a_post(write_post, content, message):
    with pytest.raises(ContentError, match=message):
        read_source(write_post("bad.md", content))


def test_latin1_error_names_the_line(write_post):
    with pytest.raises(ContentError) as error:
        read_source(write_post("bad.md", b"---\ntitle: ok\n---\n\ncaf\xe9\n"))
    assert error.value.line == 5


def test_refuses_files_over_five_megabytes(write_post):
    path = write_post("huge.md", b"a" * (5 * 1024 * 1024 + 1))
    with pytest.raises(ContentError, match="larger than the 5 MB limit"):
        read_source(path)
