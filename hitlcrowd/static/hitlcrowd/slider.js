// A range input with data-shows-in="ID" writes its value into the element with that id as it
// moves (a file, not an oninput attribute: the Content-Security-Policy runs no inline script).
(function () {
  "use strict";
  document.querySelectorAll("input[type=range][data-shows-in]").forEach(function (input) {
    var shown = document.getElementById(input.dataset.showsIn);
    if (!shown) return;
    input.addEventListener("input", function () { shown.value = input.value; });
  });
})();
