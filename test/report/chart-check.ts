// What a browser really laid out: a script the tests inject into a rendered report page (the page itself runs
// no script). It marks each chart with how many of its data paths (lines, whiskers) and marks (centre dots)
// have a size, and the page with how many charts show anything.
const SCRIPT = `(function () {
  var total = 0;
  document.querySelectorAll('figure.chart').forEach(function (f) {
    var drawn = 0, marks = 0;
    f.querySelectorAll('path.series').forEach(function (p) {
      var b = p.getBBox();
      if (p.getTotalLength() > 0 && (b.width > 0 || b.height > 0)) drawn++;
    });
    f.querySelectorAll('circle.centre').forEach(function (c) {
      var b = c.getBBox();
      if (b.width > 0 && b.height > 0) marks++;
    });
    f.setAttribute('data-drawn', String(drawn));
    f.setAttribute('data-marks', String(marks));
    if (drawn + marks > 0) total++;
  });
  document.documentElement.setAttribute('data-charts-drawn', String(total));
})();`;

/** The page with the check injected, and its Content-Security-Policy widened to let that one script run. */
export function withChartCheck(html: string): string {
  const csp = /(<meta http-equiv="Content-Security-Policy" content="[^"]*)"/;
  if (!csp.test(html) || !html.includes('</body>')) throw new Error('not a report page: no CSP meta or no </body>');
  return html.replace(csp, `$1; script-src 'unsafe-inline'"`).replace('</body>', `<script>${SCRIPT}</script>\n</body>`);
}
