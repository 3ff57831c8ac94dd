// 坐席工作台: state, screen pop, order draft autosave and finalise (served by agent_desk/pages.py)
const ME = document.querySelector('meta[name=me]').content;
const CSRF = document.querySelector('meta[name=csrf]').content;
const NAMES = {ready: '就绪', not_ready: '小休', ringing: '振铃中', on_call: '通话中', wrap_up: '话后处理'};
const FIELDS = ['category', 'topic', 'district', 'street', 'summary', 'unit', 'level'];
let order = null, timer = null, dirty = {};
const $ = id => document.getElementById(id);

async function call(method, url, body) {
  const r = await fetch(url, {method, headers: {'Content-Type': 'application/json', 'X-CSRF-Token': CSRF},
                              body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await r.json().catch(() => ({}));
  return {ok: r.ok, data};
}

function showState(s) { $('state').textContent = NAMES[s] || s || '—'; $('state').dataset.state = s || ''; }

async function setState(state) {
  const reason = state === 'not_ready' ? $('reason').value : '';
  const r = await call('POST', '/api/v1/agents/' + encodeURIComponent(ME) + '/state', {state, reason});
  if (r.ok) showState(r.data.state); else $('error').textContent = r.data.error;
}

function fill(o) {
  order = o.id;
  for (const k of FIELDS) $(k).value = o[k] || '';
  $('number').textContent = o.number ? '工单号 ' + o.number : '（草稿，自动保存）';
}

function list(el, items) {
  el.replaceChildren(...items.map(t => { const li = document.createElement('li'); li.textContent = t; return li; }));
}

async function save() {
  if (!order || !Object.keys(dirty).length) return;
  const fields = dirty;
  dirty = {};
  const r = await call('PUT', '/api/v1/orders/' + order, fields);
  $('saved').textContent = r.ok ? '已保存 ' + new Date().toLocaleTimeString() : '';
  $('error').textContent = r.ok ? '' : r.data.error;
  if (!r.ok) Object.assign(dirty, fields);
}

for (const k of FIELDS) {
  $(k).addEventListener('input', () => { dirty[k] = $(k).value; clearTimeout(timer); timer = setTimeout(save, 400); });
}

async function finalise(answered) {
  clearTimeout(timer);
  await save();
  if (!order) return;
  const r = await call('POST', '/api/v1/orders/' + order + '/finalise' + (answered ? '?answered=1' : ''));
  if (r.ok) { fill(r.data); $('error').textContent = ''; return; }
  $('error').textContent = r.data.error;
  if (r.data.field && $(r.data.field)) $(r.data.field).focus();
}

async function handOver(line) {
  $('xfer').textContent = '正在转接' + line + '…';
  const r = await call('POST', '/api/v1/transfer', {line});
  $('xfer').textContent = r.ok ? '已转接' + line : r.data.error;
  if (r.ok && r.data.order) fill(r.data.order);
}
for (const b of document.querySelectorAll('.xfer')) b.onclick = () => handOver(b.dataset.line);
let held = false;
async function hold() {
  const r = await call('POST', '/api/v1/hold', {on: !held});
  if (r.ok) { held = r.data.held; $('hold').firstChild.textContent = held ? '恢复通话 ' : '保持 '; }
  $('xfer').textContent = r.ok ? (held ? '来电人正在听等候音乐' : '') : r.data.error;
}
async function transfer(to) {
  const r = await call('POST', '/api/v1/transfer-call', {to});
  $('xfer').textContent = r.ok ? (to ? '已转给坐席 ' + to : '已转回队列') : r.data.error;
  held = false;
}
$('hold').onclick = hold;
$('toqueue').onclick = () => transfer('');
$('transfer').onclick = () => transfer($('toagent').value);
$('ready').onclick = () => setState('ready');
$('break').onclick = () => setState('not_ready');
$('finalise').onclick = () => finalise(false);
$('answered').onclick = () => finalise(true);
document.addEventListener('keydown', e => {
  if (e.key === 'F2') { e.preventDefault(); setState('ready'); }
  if (e.key === 'F3') { e.preventDefault(); setState('not_ready'); }
  if (e.key === 'Enter' && e.ctrlKey) { e.preventDefault(); finalise(e.shiftKey); }
  if (e.key === 'F4') { e.preventDefault(); hold(); }
  if (e.key === 'F6') { e.preventDefault(); transfer(''); }
  if (e.key === 'F7') { e.preventDefault(); transfer($('toagent').value); }
  const lines = {'1': '110', '2': '119', '3': '120', '4': '122'};
  if (e.altKey && lines[e.key]) { e.preventDefault(); handOver(lines[e.key]); }
});

const events = new EventSource('/api/v1/events');
events.addEventListener('state', e => showState(JSON.parse(e.data).state));
events.addEventListener('order', e => fill(JSON.parse(e.data)));
events.addEventListener('said', e => {
  const li = document.createElement('li');
  li.textContent = JSON.parse(e.data).text;
  li.className = 'live';
  const list = $('transcript');
  if (list.querySelector('.kbd')) list.replaceChildren();
  list.append(li);
});
events.addEventListener('pop', e => {
  const p = JSON.parse(e.data), t = p.triage || {};
  $('caller').textContent = p.caller;
  $('path').textContent = p.menu_path || '（语音）';
  list($('transcript'), p.transcript.length ? p.transcript : ['（来电人未说话）']);
  $('triage').textContent = t.category
    ? `类型 ${t.category} · 主题 ${t.topic || '—'} · 承办 ${t.unit || '—'}` + (t.emergency ? ` · 紧急 ${t.emergency}` : '')
    : '—';
  list($('previous'), p.previous.map(o => `${o.number} ${o.status} ${o.topic} ${o.summary.slice(0, 30)}`));
  $('repeat').innerHTML = p.repeat ? "<span class='flag'>重复来电：同一事项有未办结工单</span>" : '';
  fill(p.order);
  $('summary').focus();
});

call('GET', '/api/v1/me').then(r => {
  showState(r.data.state);
  if (r.data.order) call('GET', '/api/v1/orders/' + r.data.order).then(o => { if (o.ok) fill(o.data); });
});
