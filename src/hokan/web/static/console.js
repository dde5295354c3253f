// Hokan console: small enhancements only; every page works by plain forms.
// Buttons with data-open="ID" open the <dialog id="ID"> (the reveal purpose dialog).
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-open"));
    if (dialog && dialog.showModal) {
      event.preventDefault();
      dialog.showModal();
      var first = dialog.querySelector("select, input, textarea");
      if (first) { first.focus(); }
    }
    return;
  }
  var closer = event.target.closest("[data-close]");
  if (closer) {
    var open = closer.closest("dialog");
    if (open) { event.preventDefault(); open.close(); }
  }
});
