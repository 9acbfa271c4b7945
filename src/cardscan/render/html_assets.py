"""The HTML report's inline stylesheet and script (hand-written; no library, nothing fetched).

The script reads the page's JSON (`render/html.py` `page_data`) and draws each repo section: the memory-against-
context chart (inline SVG, log x axis), the stacked breakdown, the fit matrix, parameter bars, card claims, GGUF quant
points and audit trends. It also sorts and filters the repo table. Every chart is an `<svg role="img">` with a
`<title>` and `<desc>`; every mark carries a `<title>` tooltip with its value, unit and how it was derived.
"""

from __future__ import annotations

CSS = """
:root{--bg:#fff;--fg:#1d2127;--muted:#5b636e;--line:#d5dae0;--grid:#e9ecef;--card:#f6f7f9;--link:#1d5fd0;
--s0:#1f62d6;--s1:#c2410c;--s2:#047857;--s3:#7e22ce;--c0:#4f7fd9;--c1:#e0a020;--c2:#2aa57a;--c3:#9aa3ad;
--yes:#d6f5df;--yes-fg:#11602c;--part:#fdf0c8;--part-fg:#7a4d00;--no:#fbdcdc;--no-fg:#9b1c1c;--chg:#e3e1fb;--chg-fg:#3f2ea8}
@media screen and (prefers-color-scheme:dark){:root{--bg:#121519;--fg:#e4e7eb;--muted:#9aa3ad;--line:#343a42;--grid:#252a31;
--card:#1a1e24;--link:#7eb0ff;--s0:#6ea1ff;--s1:#ff9a5c;--s2:#3fd39b;--s3:#c58bff;--c0:#5b8de8;--c1:#e8b03a;
--c2:#35b887;--c3:#7b848e;--yes:#173d25;--yes-fg:#8fe3a8;--part:#43360f;--part-fg:#f5d37a;--no:#4a1d1d;
--no-fg:#ffaaaa;--chg:#2c2856;--chg-fg:#c4bcff}}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;
background:var(--bg);color:var(--fg);overflow-wrap:break-word}
a{color:var(--link)}h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:0 0 .4rem}
h3{font-size:1rem;margin:1.1rem 0 .35rem}.muted,caption{color:var(--muted)}
caption{text-align:left;font-size:.85rem;padding:.2rem 0;caption-side:top}
.tiles{display:flex;flex-wrap:wrap;gap:.6rem;list-style:none;padding:0;margin:.8rem 0}
.tile{flex:1 1 8rem;border:1px solid var(--line);border-left:5px solid var(--c3);border-radius:6px;padding:.5rem .8rem;
background:var(--card)}.tile .v{display:block;font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums}
.tile .l{color:var(--muted)}.tile.ok{border-left-color:var(--yes-fg)}.tile.error{border-left-color:var(--no-fg)}
.tile.warning{border-left-color:var(--part-fg)}.tile.changed{border-left-color:var(--chg-fg)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.2rem 0;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--line);white-space:nowrap}table.repos thead th{white-space:normal;vertical-align:bottom}td small{display:block;color:var(--muted)}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
table.repos th button{font:inherit;font-weight:600;background:none;border:0;color:inherit;cursor:pointer;padding:0}
table.repos th[aria-sort=ascending] .arrow::after{content:" ▲"}table.repos th[aria-sort=descending] .arrow::after{content:" ▼"}
table.repos tbody tr:hover{background:var(--card)}table.repos td{white-space:nowrap}table.repos td:nth-child(8){white-space:normal;min-width:7rem}
.controls{display:flex;flex-wrap:wrap;gap:.8rem;align-items:center;margin:.3rem 0}
.controls input,.controls select{font:inherit;padding:.2rem .4rem;background:var(--bg);color:var(--fg);
border:1px solid var(--line);border-radius:4px}
.badge{display:inline-block;border-radius:999px;padding:0 .5rem;font-size:.8rem;white-space:nowrap;margin:0 .15rem .1rem 0}
.badge.ok{background:var(--yes);color:var(--yes-fg)}.badge.error{background:var(--no);color:var(--no-fg)}
.badge.warning,.badge.differs{background:var(--part);color:var(--part-fg)}.badge.changed{background:var(--chg);color:var(--chg-fg)}
.badge.consistent{background:var(--yes);color:var(--yes-fg)}.badge.unknown{background:var(--card);color:var(--muted)}
section.repo{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1.2rem 0;background:var(--bg)}
.lede{color:var(--muted);margin:.1rem 0 .4rem}
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.5rem;margin:.5rem 0}
.headline div{background:var(--card);border-radius:6px;padding:.4rem .6rem}.headline dt{color:var(--muted);font-size:.8rem}
.headline dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.verdict{font-weight:600;margin:.4rem 0}
.charts{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;align-items:start}
@media (max-width:980px){.charts{grid-template-columns:minmax(0,1fr)}}@media (max-width:760px){.wide svg.chart{min-width:30rem}body{padding:.6rem;font-size:14px}}
figure{margin:0}figcaption{font-size:.85rem;color:var(--muted)}
svg.chart{width:100%;height:auto;display:block;overflow:visible}svg.stackchart{max-width:28rem}figure.memchart svg.chart{max-width:52rem}
svg text{fill:var(--fg);font-size:11px;font-family:inherit}svg .axis text,svg text.dim{fill:var(--muted)}
svg .grid line{stroke:var(--grid)}svg .axis path,svg .axis line{stroke:var(--line);fill:none}
svg .gpu line{stroke:var(--muted);stroke-dasharray:2 3}svg .gpu.chosen line{stroke:var(--fg);stroke-dasharray:none;stroke-width:1.5}
svg .now{stroke:var(--muted);stroke-dasharray:4 3}
.series path{fill:none;stroke-width:2.2}.k0{--k:var(--s0)}.k1{--k:var(--s1)}.k2{--k:var(--s2)}.k3{--k:var(--s3)}
.series path,.series circle,.marker{stroke:var(--k)}.series circle{fill:var(--bg);stroke-width:1.4}
.marker{fill:var(--k);stroke:var(--bg)}.d1 path{stroke-dasharray:7 3}.d2 path{stroke-dasharray:2 3}.d3 path{stroke-dasharray:9 3 2 3}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;list-style:none;padding:0;margin:.3rem 0;font-size:.85rem}
.legend svg{vertical-align:middle}.legend line{stroke:var(--k);stroke-width:2.2}
.seg0{fill:var(--c0);background:var(--c0)}.seg1{fill:var(--c1);background:var(--c1)}.seg2{fill:var(--c2);background:var(--c2)}
.seg3{fill:var(--c3);background:var(--c3)}.seg4{fill:var(--s3);background:var(--s3)}.seg5{fill:var(--s1);background:var(--s1)}
.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-1px;margin-right:.25rem}
.bar{display:flex;height:1.5rem;border-radius:4px;overflow:hidden;border:1px solid var(--line);margin:.15rem 0 .2rem}
.bar span{display:block;height:100%;min-width:2px;border-right:1px solid var(--bg)}
table.matrix td{text-align:center;font-variant-numeric:tabular-nums;min-width:4.8rem}table.matrix thead th{white-space:normal;text-align:center}table.matrix small{display:block;opacity:.85}
td.yes{background:var(--yes);color:var(--yes-fg)}td.part{background:var(--part);color:var(--part-fg)}
td.no{background:var(--no);color:var(--no-fg)}
q.snip{display:block;font-size:.85rem;color:var(--muted);quotes:"“" "”";margin:.1rem 0}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600}ul.notes{margin:.2rem 0;padding-left:1.2rem;font-size:.88rem}
.error{color:var(--no-fg)}.warn{color:var(--part-fg)}
td.trend svg{width:90px;height:22px}svg.spark polyline{fill:none;stroke:var(--s0);stroke-width:1.5}
svg.spark circle{fill:var(--s1)}
@media print{:root{--fg:#000;--muted:#444}body{max-width:none;font-size:10pt;padding:0}
.controls,noscript{display:none}section.repo{break-before:page;border:0;padding:0}.scroll{overflow:visible}
.charts{grid-template-columns:1fr}figure,table,.headline{break-inside:avoid}a{color:inherit;text-decoration:none}}
""".strip()

JS = r"""
(function(){'use strict';
var D=JSON.parse(document.getElementById('cardscan-data').textContent);
var GIB=1073741824,MIB=1048576;
function expand(e){var m=e.memory,k=D.mib?MIB:1;if(m&&typeof m.gpus[0]==='number'){m.gpus=m.gpus.map(function(i){return D.gpus[i];});
m.notes=m.notes.map(function(i){return D.texts[i];});m.contexts=D.texts[m.contexts];m.series.forEach(function(s){s.weights*=k;s.limits=s.limits.map(function(l){var c=l[0]===-1?m.max_context:l[0];return[c,l[1],c!=null&&c>=m.context];});
s.totals=s.totals.map(function(v){return v*k;});s.at=s.at.map(function(v){return v*k;});});}
var t=e.trend;if(t&&t.run)e.trend=t.run.map(function(r,i){return{run:D.runs[r],weights_bytes:t.w[i]==null?null:t.w[i]*k,commit:t.commit[i]};});return e;}
function esc(s){return String(s==null?'':s).replace(/[&<>"']/g,function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function by(b){if(b==null)return'?';var u=[['TiB',1099511627776],['GiB',GIB],['MiB',1048576],['KiB',1024]];
for(var i=0;i<u.length;i++){if(Math.abs(b)>=u[i][1])return(b/u[i][1]).toFixed(2)+' '+u[i][0];}return Math.round(b)+' B';}
function gib(b){return(b/GIB).toFixed(2);}
function n(x){return x==null?'?':Number(x).toLocaleString('en-US');}
function cnt(x){if(x==null)return'?';var u=[['T',1e12],['B',1e9],['M',1e6],['K',1e3]];
for(var i=0;i<u.length;i++){if(Math.abs(x)>=u[i][1])return(x/u[i][1]).toFixed(2)+u[i][0];}return String(x);}
function tok(x){return x>=1024&&x%1024===0?(x/1024)+'K':String(x);}
function nice(raw){var p=Math.pow(10,Math.floor(Math.log10(raw))),m=raw/p;return(m<=1?1:m<=2?2:m<=2.5?2.5:m<=5?5:10)*p;}
function svg(w,h,label,desc,inner,cls){return'<svg class="chart '+(cls||'')+'" viewBox="0 0 '+w+' '+h+'" role="img" aria-label="'+esc(label)+'"><title>'+esc(label)+'</title><desc>'+esc(desc)+'</desc>'+inner+'</svg>';}
function tip(t){return'<title>'+esc(t)+'</title>';}
var COMP=['weights','KV cache','activations','overhead'];
function spread(ys,gap,lo,hi){var o=ys.map(function(y,i){return[y,i];}).sort(function(a,b){return a[0]-b[0];}),out=ys.slice(),prev=-1e9;
o.forEach(function(p){var y=Math.max(p[0],prev+gap);out[p[1]]=y;prev=y;});var over=prev-hi;if(over>0)o.forEach(function(p){out[p[1]]=Math.max(lo,out[p[1]]-over);});return out;}

function memoryChart(e){var m=e.memory,xs=m.contexts;if(!xs.length)return'';
var W=640,H=300,L=56,R=118,T=14,B=40,pw=W-L-R,ph=H-T-B;
var lx0=Math.log2(xs[0]),lx1=Math.log2(m.max_context);if(lx1<=lx0)lx1=lx0+1;
var top=0;m.series.forEach(function(s){s.totals.forEach(function(v){top=Math.max(top,v);});});
var budgets=m.gpus.map(function(g){return g.budget;}).sort(function(a,b){return a-b;});
var above=budgets.filter(function(b){return b>=top;})[0];var ymax=Math.max(top*1.1,above?above*1.06:0);
if(above&&above>top*3)ymax=top*1.25;
var step=nice(ymax/GIB/5)*GIB;ymax=Math.ceil(ymax/step)*step;
function X(c){return L+(Math.log2(c)-lx0)/(lx1-lx0)*pw;}function Y(v){return T+ph-v/ymax*ph;}
var g='<g class="grid">',a='<g class="axis">';
for(var v=0;v<=ymax+1;v+=step){g+='<line x1="'+L+'" x2="'+(L+pw)+'" y1="'+Y(v).toFixed(1)+'" y2="'+Y(v).toFixed(1)+'"/>';
a+='<text x="'+(L-6)+'" y="'+(Y(v)+4).toFixed(1)+'" text-anchor="end">'+String(+(v/GIB).toFixed(2))+'</text>';}
var k0=Math.ceil(lx0),k1=Math.floor(lx1),every=(k1-k0)>8?2:1;
for(var k=k0;k<=k1;k++){var x=X(Math.pow(2,k)).toFixed(1);g+='<line x1="'+x+'" x2="'+x+'" y1="'+T+'" y2="'+(T+ph)+'"/>';
if((k-k0)%every===0)a+='<text x="'+x+'" y="'+(T+ph+15)+'" text-anchor="middle">'+tok(Math.pow(2,k))+'</text>';}
a+='<path d="M'+L+' '+T+'V'+(T+ph)+'H'+(L+pw)+'"/><text x="'+(L+pw/2)+'" y="'+(H-4)+'" text-anchor="middle">context (tokens per sequence, log scale; K = 1,024)</text>';
a+='<text transform="translate(13 '+(T+ph/2)+') rotate(-90)" text-anchor="middle">GiB per GPU</text></g>';g+='</g>';
var out=g+a,hidden=[];var ly=spread(m.gpus.map(function(gp){return gp.budget>ymax?-1e6:Y(gp.budget)+4;}),11,T+4,T+ph+4);
m.gpus.forEach(function(gp,i){if(gp.budget>ymax){hidden.push(gp.name+' ('+gib(gp.budget)+' GiB)');return;}
var y=Y(gp.budget).toFixed(1),fitsAll=m.series.map(function(s){var l=s.limits[i];return s.label+': '+(l[0]==null?'does not fit':'up to '+n(l[0])+' tokens at batch '+m.batch+(l[1]?', batch up to '+n(l[1])+' at '+n(m.context)+' tokens':''));}).join('; ');
out+='<g class="gpu'+(gp.chosen?' chosen':'')+'">'+tip(gp.name+': '+by(gp.budget)+' the engine may fill ('+by(gp.usable)+' usable). '+fitsAll)+'<line x1="'+L+'" x2="'+(L+pw)+'" y1="'+y+'" y2="'+y+'"/><text x="'+(L+pw+4)+'" y="'+ly[i].toFixed(1)+'">'+esc(gp.name)+'</text></g>';});
if(m.context>=xs[0]){var cx=X(m.context).toFixed(1);out+='<line class="now" x1="'+cx+'" x2="'+cx+'" y1="'+T+'" y2="'+(T+ph)+'">'+tip('your context: '+n(m.context)+' tokens')+'</line><text class="dim" x="'+(+cx-4)+'" y="'+(T+10)+'" text-anchor="end">'+n(m.context)+'</text>';}
m.series.forEach(function(s,si){var d='',pts='';
s.totals.forEach(function(v,j){var x=X(xs[j]).toFixed(1),y=Y(v).toFixed(1);d+=(j?'L':'M')+x+' '+y;
pts+='<circle r="2.6" cx="'+x+'" cy="'+y+'">'+tip(s.label+' at '+n(xs[j])+' tokens: '+by(v)+' per GPU = weights '+by(s.weights/m.tp)+' + KV cache, activations and overhead ('+m.engine+', batch '+m.batch+')')+'</circle>';});
out+='<g class="series k'+si+' d'+si+'" data-key="'+esc(s.key)+'" data-points="'+s.totals.length+'">'+tip(s.label+': total memory against context ('+m.engine+', batch '+m.batch+')')+'<path d="'+d+'"/>'+pts+'</g>';});
var markers='',nm=0;
m.series.forEach(function(s,si){m.gpus.forEach(function(gp,i){var l=s.limits[i];if(l[0]==null||l[0]>=m.max_context||gp.budget>ymax||l[0]<xs[0])return;
nm++;var x=X(l[0]),y=Y(gp.budget);markers+='<path class="marker k'+si+'" d="M'+x.toFixed(1)+' '+(y-5).toFixed(1)+'l5 5-5 5-5-5z">'+tip(s.label+' on '+gp.name+': largest context that fits '+n(l[0])+' tokens at batch '+m.batch)+'</path>';});});
out+='<g class="markers" data-count="'+nm+'">'+markers+'</g>';
var label='Total memory per GPU against context length for '+m.series.length+' precision'+(m.series.length>1?'s':'')+', with '+m.gpus.length+' GPU lines';
var desc=m.series.map(function(s){return s.label+': '+by(s.totals[0])+' at '+n(xs[0])+' tokens to '+by(s.totals[s.totals.length-1])+' at '+n(xs[xs.length-1]);}).join('; ')+'. '+m.notes.join('. ');
var legend='<ul class="legend">'+m.series.map(function(s,si){return'<li class="k'+si+' d'+si+'"><svg width="30" height="10" aria-hidden="true"><g class="series d'+si+'"><path d="M1 5H29" style="stroke:var(--k)"/></g></svg>'+esc(s.label)+' <span class="muted">('+by(s.at[4])+' at '+n(m.context)+')</span></li>';}).join('')+'<li><svg width="14" height="12" aria-hidden="true"><path d="M7 1l5 5-5 5-5-5z" style="fill:var(--muted)"/></svg> largest context that fits the GPU</li></ul>';
var cap='<figcaption>'+esc(m.engine)+' engine · batch '+m.batch+' · KV '+esc(m.kv_dtype)+(m.tp>1?' · TP '+m.tp+' (per GPU)':'')+'. Dotted lines: what each GPU lets the engine fill.'+(hidden.length?' Above the chart: '+esc(hidden.join(', '))+'.':'')+'</figcaption>';
return'<figure class="memchart"><div class="scroll wide">'+svg(W,H,label,desc,out)+'</div>'+legend+cap+'</figure>';}

function stackChart(e){var m=e.memory,W=380,rowH=30,L=104,R=62,T=8,H=T+m.series.length*rowH+4,pw=W-L-R;
var top=Math.max.apply(null,m.series.map(function(s){return s.at[4];}));var out='';
m.series.forEach(function(s,si){var x=L,y=T+si*rowH;out+='<text x="'+(L-6)+'" y="'+(y+16)+'" text-anchor="end">'+esc(s.label)+'</text>';
for(var c=0;c<4;c++){var w=s.at[c]/top*pw;out+='<rect class="seg'+c+'" x="'+x.toFixed(1)+'" y="'+y+'" width="'+Math.max(w,0.5).toFixed(1)+'" height="22">'+tip(s.label+' · '+COMP[c]+': '+by(s.at[c])+' at '+n(m.context)+' tokens, batch '+m.batch)+'</rect>';x+=w;}
out+='<text x="'+(x+4).toFixed(1)+'" y="'+(y+15)+'">'+gib(s.at[4])+' GiB</text>';});
var label='Memory at '+n(m.context)+' tokens by component for each precision (GiB per GPU)';
var desc=m.series.map(function(s){return s.label+': '+COMP.map(function(c,i){return c+' '+by(s.at[i]);}).join(', ')+', total '+by(s.at[4]);}).join('; ');
var legend='<ul class="legend">'+COMP.map(function(c,i){return'<li><span class="sw seg'+i+'" aria-hidden="true"></span>'+c+'</li>';}).join('')+'</ul>';
var rows=m.series.map(function(s){return'<tr><th scope="row">'+esc(s.label)+'</th>'+s.at.map(function(v,i){return'<td class="num" title="'+esc(i<4?COMP[i]:'total')+'">'+gib(v)+'</td>';}).join('')+'</tr>';}).join('');
var table='<div class="scroll"><table class="breakdown"><caption>At '+n(m.context)+' tokens, GiB per GPU</caption><thead><tr><th scope="col">precision</th><th scope="col" class="num">weights</th><th scope="col" class="num">KV</th><th scope="col" class="num">activ.</th><th scope="col" class="num">overhead</th><th scope="col" class="num">total</th></tr></thead><tbody>'+rows+'</tbody></table></div>';
return'<figure class="stack">'+svg(W,H,label,desc,out,'stackchart')+legend+table+'</figure>';}

function matrix(e){var m=e.memory;
var head=m.gpus.map(function(g){return'<th scope="col" title="'+esc(by(g.usable)+' usable; the engine may fill '+by(g.budget))+'">'+esc(g.name)+(g.chosen?' ★':'')+'</th>';}).join('');
var rows=m.series.map(function(s){return'<tr><th scope="row">'+esc(s.label)+'</th>'+s.limits.map(function(l,i){var g=m.gpus[i],cls,txt;
if(l[0]==null){cls='no';txt='✗ none';}else if(l[2]){cls='yes';txt='✓ '+n(l[0]);}else{cls='part';txt='◐ '+n(l[0]);}
var t=s.label+' on '+g.name+': '+(l[0]==null?'does not fit even 1 token':'largest context '+n(l[0])+' tokens at batch '+m.batch)+(l[1]?'; at '+n(m.context)+' tokens up to batch '+n(l[1]):'');
return'<td class="'+cls+'" title="'+esc(t)+'">'+txt+(l[1]?'<small>batch ≤ '+n(l[1])+'</small>':'')+'</td>';}).join('')+'</tr>';}).join('');
return'<h3>Fit matrix: largest context per GPU</h3><div class="scroll"><table class="matrix"><caption>Largest context (tokens) that fits at batch '+m.batch+' under the '+esc(m.engine)+' engine; batch: most sequences at '+n(m.context)+' tokens. ✓ fits your context, ◐ only a shorter one, ✗ not at all.</caption><thead><tr><th scope="col">precision</th>'+head+'</tr></thead><tbody>'+rows+'</tbody></table></div>';}

function verdict(e){var m=e.memory;if(!m||!m.series.length)return'';var s=m.series[0],ok=[],short=[];
m.gpus.forEach(function(g,i){var l=s.limits[i];if(l[2])ok.push(g);else if(l[0]!=null)short.push([g,l[0]]);});
ok.sort(function(a,b){return a.budget-b.budget;});
var t=ok.length?'At '+n(m.context)+' tokens the '+s.label+' weights fit '+ok.length+' of '+m.gpus.length+' GPUs, smallest '+ok[0].name+'.':'At '+n(m.context)+' tokens the '+s.label+' weights fit none of the '+m.gpus.length+' GPUs drawn.';
if(!ok.length){for(var si=1;si<m.series.length;si++){var f=m.series[si].limits.map(function(l,i){return l[2]?m.gpus[i]:null;}).filter(Boolean).sort(function(a,b){return a.budget-b.budget;});if(f.length){t+=' At '+m.series[si].label+': fits '+f[0].name+'.';break;}}}
if(short.length)t+=' '+short.map(function(x){return x[0].name+' up to '+n(x[1])+' tokens';}).join(', ')+'.';
return'<p class="verdict">'+esc(t)+'</p>';}

function headline(e){var r=e.row,m=e.memory,items=[['parameters',r.params!=null?cnt(r.params):'?','logical parameters ('+(e.params?e.params.source:'?')+')'],
['weights',by(r.weights),'stored tensor bytes'+(r.bpw?' · '+r.bpw.toFixed(2)+' bits per weight':'')],
['memory at '+(r.context!=null?n(r.context)+' tokens':'context'),by(r.memory),m?'weights + KV + activations + overhead, '+m.engine+', batch '+m.batch:'not estimated'],
['fits',r.of?r.fits+' of '+r.of+' GPUs':'?','stored weights at the chosen context']];
if(r.quant)items.push(['quantization',r.quant,'from the weights and config']);if(r.licence)items.push(['licence',r.licence,'model card YAML']);
return'<dl class="headline">'+items.map(function(i){return'<div title="'+esc(i[2])+'"><dt>'+esc(i[0])+'</dt><dd>'+esc(i[1])+'</dd></div>';}).join('')+'</dl>';}

function params(e){var p=e.params;if(!p)return'';
return'<h3>Parameters: '+cnt(p.total)+' ('+n(p.total)+')</h3>'+p.bars.map(function(b,bi){var sum=b.segments.reduce(function(a,s){return a+s[1];},0);
var segs=b.segments.map(function(s,i){return'<span class="seg'+((i+bi*2)%6)+'" style="width:'+(s[1]/sum*100).toFixed(2)+'%" title="'+esc(s[0]+': '+cnt(s[1])+' ('+n(s[1])+', '+(s[1]/sum*100).toFixed(1)+'%)')+'"></span>';}).join('');
var leg=b.segments.map(function(s,i){return'<li><span class="sw seg'+((i+bi*2)%6)+'" aria-hidden="true"></span>'+esc(s[0])+' '+cnt(s[1])+' ('+(s[1]/sum*100).toFixed(1)+'%)</li>';}).join('');
return'<div class="pbar" data-segments="'+b.segments.length+'"><div class="muted">'+esc(b.title)+'</div><div class="bar" role="img" aria-label="'+esc('parameters '+b.title+': '+b.segments.map(function(s){return s[0]+' '+cnt(s[1]);}).join(', '))+'">'+segs+'</div><ul class="legend">'+leg+'</ul></div>';}).join('');}

function claims(e){if(!e.claims||!e.claims.length)return'';
var rows=e.claims.map(function(c){var sn=c.snippets.map(function(s){return'<q class="snip" title="from the card '+esc(s.source)+'">'+esc(s.text)+'</q>';}).join('');
var mark={consistent:'✓',differs:'✗'}[c.status]||'?';
return'<tr><th scope="row">'+esc(c.field.replace('_',' '))+'</th><td>'+esc(c.claimed||'—')+sn+'</td><td>'+esc(c.observed||'—')+'</td><td><span class="badge '+esc(c.status)+'" title="'+esc(c.note)+'"><span aria-hidden="true">'+mark+'</span> '+esc(c.status)+'</span><div class="muted">'+esc(c.note)+'</div></td></tr>';}).join('');
return'<h3>Card claims against the headers</h3><div class="scroll"><table class="claims"><thead><tr><th scope="col">field</th><th scope="col">card claims (quoted)</th><th scope="col">headers / config show</th><th scope="col">agreement</th></tr></thead><tbody>'+rows+'</tbody></table></div>';}

function quants(e){var q=e.quants;if(!q||!q.points.length)return'';var P=q.points.filter(function(p){return p.bpw!=null&&p.memory!=null;});if(!P.length)return'';
var W=560,H=250,L=56,R=118,T=12,B=38,pw=W-L-R,ph=H-T-B,m=e.memory;
var x0=Math.min.apply(null,P.map(function(p){return p.bpw;})),x1=Math.max.apply(null,P.map(function(p){return p.bpw;}));var pad=Math.max(.5,(x1-x0)*.08);x0=Math.max(0,x0-pad);x1+=pad;
var top=Math.max.apply(null,P.map(function(p){return p.memory;}));var gp=(m?m.gpus:[]).filter(function(g){return g.budget<=top*1.6;});
var ymax=Math.max(top*1.12,gp.length?Math.max.apply(null,gp.map(function(g){return g.budget;}))*1.05:0),step=nice(ymax/GIB/5)*GIB;ymax=Math.ceil(ymax/step)*step;
function X(v){return L+(v-x0)/(x1-x0)*pw;}function Y(v){return T+ph-v/ymax*ph;}
var out='<g class="grid">',a='<g class="axis">';for(var v=0;v<=ymax+1;v+=step){out+='<line x1="'+L+'" x2="'+(L+pw)+'" y1="'+Y(v).toFixed(1)+'" y2="'+Y(v).toFixed(1)+'"/>';a+='<text x="'+(L-6)+'" y="'+(Y(v)+4).toFixed(1)+'" text-anchor="end">'+String(+(v/GIB).toFixed(2))+'</text>';}
for(var b=Math.ceil(x0);b<=x1;b++){a+='<text x="'+X(b).toFixed(1)+'" y="'+(T+ph+15)+'" text-anchor="middle">'+b+'</text>';}
a+='<path d="M'+L+' '+T+'V'+(T+ph)+'H'+(L+pw)+'"/><text x="'+(L+pw/2)+'" y="'+(H-4)+'" text-anchor="middle">bits per weight</text><text transform="translate(13 '+(T+ph/2)+') rotate(-90)" text-anchor="middle">GiB at '+n(q.context)+' tokens</text></g>';out+='</g>'+a;
var qy=spread(gp.map(function(g){return Y(g.budget)+4;}),11,T+4,T+ph+4);
gp.forEach(function(g,i){var y=Y(g.budget).toFixed(1);out+='<g class="gpu">'+tip(g.name+': the engine may fill '+by(g.budget))+'<line x1="'+L+'" x2="'+(L+pw)+'" y1="'+y+'" y2="'+y+'"/><text x="'+(L+pw+4)+'" y="'+qy[i].toFixed(1)+'">'+esc(g.name)+'</text></g>';});
var pts='';P.forEach(function(p,i){var x=X(p.bpw).toFixed(1),y=Y(p.memory).toFixed(1),f=q.gpus.filter(function(_,j){return p.fits[j];});
pts+='<g class="quant'+(p.chosen?' chosen':'')+'"><circle class="k0" r="'+(p.chosen?6:4.5)+'" cx="'+x+'" cy="'+y+'" style="fill:var(--s0);stroke:var(--bg)">'+tip(p.label+': '+p.bpw.toFixed(2)+' bits per weight, file '+by(p.file)+', memory '+by(p.memory)+' at '+n(q.context)+' tokens; fits '+(f.length?f.join(', '):'none of the GPUs drawn')+(p.chosen?' (the quant whose headers were read)':' (sized from its file)'))+'</circle><text x="'+(+x+(x>L+pw*.75?-8:8))+'" y="'+(+y-(i%2?-14:7))+'"'+(x>L+pw*.75?' text-anchor="end"':'')+'>'+esc(p.label)+'</text></g>';});
out+='<g class="quants" data-points="'+P.length+'">'+pts+'</g>';
var rows=q.points.map(function(p){var f=q.gpus.filter(function(_,j){return p.fits[j];});return'<tr><th scope="row">'+esc(p.label)+(p.chosen?' (read)':'')+'</th><td class="num">'+(p.bpw!=null?p.bpw.toFixed(2):'?')+'</td><td class="num">'+by(p.file)+'</td><td class="num">'+by(p.memory)+'</td><td>'+(f.length?esc(f[0])+(f.length>1?' +'+(f.length-1):''):'<span class="badge error"><span aria-hidden="true">✗</span> none</span>')+'</td></tr>';}).join('');
return'<h3>Quants in this repo</h3><div class="charts"><figure class="scroll wide">'+svg(W,H,'Memory against bits per weight for '+P.length+' quants','Each point is one quant file: bits per weight (file bytes × 8 / parameters) against the memory estimate at '+n(q.context)+' tokens; dotted lines are GPU budgets.',out)+'</figure><div class="scroll"><table class="quants"><caption>Every quant, smallest first; fits: the smallest GPU it fits</caption><thead><tr><th scope="col">quant</th><th scope="col" class="num">bpw</th><th scope="col" class="num">file</th><th scope="col" class="num">memory</th><th scope="col">fits</th></tr></thead><tbody>'+rows+'</tbody></table></div></div>';}

function spark(pts,w,h){var v=pts.map(function(p){return p.weights_bytes;}).filter(function(x){return x!=null;});if(pts.length<1||!v.length)return'';
var lo=Math.min.apply(null,v),hi=Math.max.apply(null,v),span=hi-lo||1,line='',dots='',prev=null;
pts.forEach(function(p,i){if(p.weights_bytes==null)return;var x=(pts.length>1?i/(pts.length-1)*(w-6):w/2-3)+3,y=h-3-(p.weights_bytes-lo)/span*(h-6);line+=x.toFixed(1)+','+y.toFixed(1)+' ';
if(i>0&&p.commit)dots+='<circle r="2.4" cx="'+x.toFixed(1)+'" cy="'+y.toFixed(1)+'">'+tip(p.run+': new commit '+String(p.commit||'?').slice(0,7))+'</circle>';});
var label='weights over '+pts.length+' runs: '+pts.map(function(p){return p.run+' '+by(p.weights_bytes);}).join(', ');
return'<svg class="spark" viewBox="0 0 '+w+' '+h+'" role="img" aria-label="'+esc(label)+'" data-points="'+pts.length+'"><title>'+esc(label)+'</title><polyline points="'+line+'"/>'+dots+'</svg>';}

function auditPart(e){var a=e.audit,out='';if(a){var vs=a.violations||[],cs=a.changes||[];
if(vs.length)out+='<h3>Policy violations</h3><ul class="notes">'+vs.map(function(v){return'<li><span class="badge '+(v.severity==='warning'?'warning':'error')+'">'+esc(v.severity||'error')+'</span> <b>'+esc(v.rule)+'</b>: '+esc(v.message)+'</li>';}).join('')+'</ul>';
if(cs.length)out+='<h3>Changed since the last run</h3><ul class="notes">'+cs.map(function(c){return'<li><span class="badge changed"><span aria-hidden="true">Δ</span> '+esc(c.field)+'</span> '+esc(c.before==null?'—':c.before)+' → '+esc(c.after==null?'—':c.after)+'</li>';}).join('')+'</ul>';}
if(e.trend&&e.trend.length)out+='<h3>Trend: stored weight bytes per run</h3><figure class="trendfig">'+spark(e.trend,240,48)+'<figcaption>'+esc(e.trend.map(function(p){return p.run+': '+by(p.weights_bytes)+(p.commit?' (commit '+String(p.commit).slice(0,7)+')':'');}).join(' · '))+'</figcaption></figure>';
return out;}

function listOf(title,items,cls){return items&&items.length?'<details'+(cls?' open':'')+'><summary>'+title+' ('+items.length+')</summary><ul class="notes '+(cls||'')+'">'+items.map(function(t){return'<li>'+esc(t)+'</li>';}).join('')+'</ul></details>':'';}

function draw(sec){if(sec.dataset.drawn)return;sec.dataset.drawn='1';var e=IDX[sec.id];if(!e)return;var b=sec.querySelector('.body'),h='';
if(e.error){b.innerHTML='<p class="error"><span class="badge error"><span aria-hidden="true">✗</span> '+esc(e.error.code)+'</span> '+esc(e.error.message)+'</p>'+auditPart(e);return;}
h+=headline(e)+verdict(e)+auditPart(e);
if(e.memory&&e.memory.series.length){h+='<h3>Memory against context</h3><div class="charts">'+memoryChart(e)+stackChart(e)+'</div>'+matrix(e);}
if(e.fit_text)h+='<p class="fittext" title="the estimate at your context against each catalogue GPU\'s budget">'+esc(e.fit_text)+'</p>';
h+=quants(e)+params(e)+claims(e);
h+='<details><summary>More facts</summary><div class="scroll"><table class="facts"><tbody>'+(e.facts||[]).map(function(f){return'<tr><th scope="row">'+esc(f[0])+'</th><td>'+esc(f[1])+'</td></tr>';}).join('')+'</tbody></table></div></details>';
h+=listOf('How the figures were derived',(e.memory?e.memory.notes:[]).concat(e.notes||[]))+listOf('Warnings',e.warnings,'warn');
if(D.kind!=='repo')h+='<p><a href="#overview">↑ back to the table</a></p>';b.innerHTML=h;}

var IDX={};D.repos.forEach(function(e){IDX[e.id]=expand(e);});
var secs=[].slice.call(document.querySelectorAll('section.repo'));
function drawAll(){secs.forEach(draw);document.querySelectorAll('details').forEach(function(d){d.open=true;});}
if(D.eager||!('IntersectionObserver' in window)){secs.forEach(draw);}else{var io=new IntersectionObserver(function(es){es.forEach(function(x){if(x.isIntersecting){draw(x.target);io.unobserve(x.target);}});},{rootMargin:'600px'});secs.forEach(function(s){io.observe(s);});}
window.addEventListener('beforeprint',drawAll);
function onHash(){var s=document.getElementById(location.hash.slice(1));if(s&&s.classList.contains('repo')){draw(s);s.scrollIntoView();}}
window.addEventListener('hashchange',onHash);if(location.hash)onHash();

var tbl=document.getElementById('repos');if(tbl){var tb=tbl.tBodies[0],rows=[].slice.call(tb.rows),shown=document.getElementById('shown');
document.querySelectorAll('td.trend').forEach(function(td){var e=IDX[td.parentNode.id.slice(4)];if(e&&e.trend)td.innerHTML=spark(e.trend,90,22);});
var ths=[].slice.call(tbl.tHead.rows[0].cells);
ths.forEach(function(th,ci){var btn=th.querySelector('button');if(!btn)return;btn.addEventListener('click',function(){
var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending',num=th.dataset.type==='num';
ths.forEach(function(o){if(o.hasAttribute('aria-sort'))o.setAttribute('aria-sort','none');});th.setAttribute('aria-sort',dir);
var s=dir==='ascending'?1:-1;var keyed=rows.map(function(r){var c=r.cells[ci],v=c.dataset.v!=null?c.dataset.v:c.textContent.trim();return[v===''?null:(num?parseFloat(v):v.toLowerCase()),r];});
keyed.sort(function(a,b){var x=a[0],y=b[0];if(x===null||y===null)return x===y?0:x===null?1:-1;return s*(num?x-y:(x<y?-1:x>y?1:0));});
rows=keyed.map(function(k){return k[1];});var f=document.createDocumentFragment();rows.forEach(function(r){f.appendChild(r);});tb.appendChild(f);});});
var q=document.getElementById('filter'),st=document.getElementById('status-filter');
function filter(){var t=q.value.trim().toLowerCase(),k=st.value,c=0;rows.forEach(function(r){
var ok=(!t||(r._t||(r._t=r.textContent.toLowerCase())).indexOf(t)>=0)&&(!k||(' '+r.dataset.tags+' ').indexOf(' '+k+' ')>=0);r.hidden=!ok;if(ok)c++;});
shown.textContent=c+' of '+rows.length+' shown';}
q.addEventListener('input',filter);st.addEventListener('change',filter);filter();}
})();
""".strip()
