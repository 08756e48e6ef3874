// A file input marked data-folder picks a whole folder. The attribute that does it
// (webkitdirectory) is not in the HTML standard, so it is set here rather than in the markup;
// without scripts the input still takes several files.
document.querySelectorAll("input[type=file][data-folder]").forEach((input) => {
  input.webkitdirectory = true;
});
