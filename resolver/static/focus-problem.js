// A form sent back with problems: the summary of them takes the focus, so a screen reader reads it first.
(function () {
  var problem = document.getElementById("problem");
  if (problem) { problem.focus(); }
})();
