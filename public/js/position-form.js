// Back-office position form: when the operator picks another service, the pagoPA taxonomy code
// follows it, unless the operator typed a code of their own. Without JavaScript the server fills
// an empty code from the chosen service.
(function () {
  var select = document.getElementById('f-serviceCode');
  var input = document.getElementById('f-taxonomyCode');
  if (!select || !input) return;
  var taxonomyOf = function () {
    var option = select.options[select.selectedIndex];
    return (option && option.getAttribute('data-taxonomy')) || '';
  };
  var last = taxonomyOf();
  select.addEventListener('change', function () {
    var next = taxonomyOf();
    var current = input.value.trim();
    if (!current || current === last) input.value = next;
    last = next;
  });
})();
