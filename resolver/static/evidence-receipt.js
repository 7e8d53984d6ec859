// The receipt (templates/resident/evidence_receipt.html): the form's saved draft is not needed any more.
(function () {
  var draft = document.currentScript.getAttribute("data-draft");
  try { window.localStorage.removeItem("resolver-draft-" + draft); } catch (e) {}
})();
