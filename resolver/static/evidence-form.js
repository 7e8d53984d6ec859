// The resident's evidence form (templates/resident/evidence_form.html): keeps a draft of what is typed
// in this browser, lists the chosen files with their sizes, and stops a second send while one is on its way.
// The form works without it.
(function () {
  var form = document.getElementById("evidence-form");
  if (!form || !window.JSON) { return; }
  var key = "resolver-draft-" + form.getAttribute("data-draft");
  var fields = form.querySelectorAll("textarea, input[type=text]");
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }
  // What was typed here before (a closed tab, a lost connection) comes back, unless already filled in.
  if (store) {
    try {
      var saved = JSON.parse(store.getItem(key) || "{}");
      Array.prototype.forEach.call(fields, function (f) { if (!f.value && saved[f.name]) { f.value = saved[f.name]; } });
    } catch (e) {}
    form.addEventListener("input", function () {
      var data = {};
      Array.prototype.forEach.call(fields, function (f) { data[f.name] = f.value; });
      try { store.setItem(key, JSON.stringify(data)); } catch (e) {}
    });
  }

  var input = document.getElementById("files"), list = document.getElementById("chosen-files");
  var maxFile = +form.getAttribute("data-max-file"), roomBytes = +form.getAttribute("data-room-bytes"),
      roomFiles = +form.getAttribute("data-room-files");
  // The words it says come from the page, in the resident's language: {name}, {size}... are filled in here.
  function say(what, values) {
    return (form.getAttribute("data-say-" + what) || "").replace(/\{(\w+)\}/g, function (all, name) { return values[name]; });
  }
  function size(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB"; }
  function problemWithFiles() {
    var total = 0, problem = "";
    Array.prototype.forEach.call(input.files, function (f) {
      total += f.size;
      if (f.size > maxFile && !problem) { problem = say("too-big", {name: f.name, size: size(f.size), max: size(maxFile)}); }
    });
    if (!problem && input.files.length > roomFiles) { problem = say("too-many", {chosen: input.files.length, room: roomFiles}); }
    if (!problem && total > roomBytes) { problem = say("too-much", {size: size(total), room: size(roomBytes)}); }
    return problem;
  }
  input.addEventListener("change", function () {
    list.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var li = document.createElement("li");
      li.textContent = f.name + " (" + size(f.size) + ")";
      if (f.size > maxFile) { li.className = "too-big"; }
      list.appendChild(li);
    });
    var problem = problemWithFiles();
    if (problem) { var li = document.createElement("li"); li.className = "too-big"; li.textContent = problem; list.appendChild(li); }
  });

  var button = form.querySelector("button[type=submit]"), label = button.textContent;
  form.addEventListener("submit", function (event) {
    var problem = problemWithFiles();
    if (problem) { event.preventDefault(); alert(problem + " " + say("remove", {})); return; }
    if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
    form.setAttribute("data-sending", "1");
    button.disabled = true;
    button.textContent = say("sending", {});
  });
  // Coming back to this page with the Back button: the button works again.
  window.addEventListener("pageshow", function () { form.removeAttribute("data-sending"); button.disabled = false; button.textContent = label; });
})();
