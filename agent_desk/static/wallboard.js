// 班长监控大屏: live figures over server-sent events (served by agent_desk/pages.py)
const $ = id => document.getElementById(id);
const NAMES = {ready: '就绪', not_ready: '小休', ringing: '振铃中', on_call: '通话中', wrap_up: '话后处理'};
const fmt = v => (v === null || v === undefined ? '—' : v);

function agents(rows) {
  $('agents').replaceChildren(...rows.map(a => {
    const tr = document.createElement('tr');
    for (const v of [a.id, a.name, NAMES[a.state] || a.state, a.reason, a.calls_handled]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

function render(w) {
  $('waiting').textContent = w.waiting;
  $('longest').textContent = Math.round(w.longest_wait);
  $('sl').textContent = w.service_level === null ? '—' : Math.round(w.service_level * 100) + '%';
  $('asa').textContent = fmt(w.average_speed_of_answer);
  $('aht').textContent = fmt(w.average_handling_time);
  $('handled').textContent = w.agent_handled;
  $('abandoned').textContent = w.abandoned;
  $('robot').textContent = w.robot_answered;
  $('emergency').textContent = w.emergency_transferred;
  const max = Math.max(1, ...w.per_15_minutes);
  $('chart').replaceChildren(...w.per_15_minutes.map((n, i) => {
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect'), h = 130 * n / max;
    r.setAttribute('x', i * 10); r.setAttribute('y', 135 - h);
    r.setAttribute('width', 8); r.setAttribute('height', h); r.setAttribute('fill', '#b71c1c');
    return r;
  }));
  agents(w.agents);
}

const events = new EventSource('/api/v1/events');
events.addEventListener('wallboard', e => render(JSON.parse(e.data)));
events.addEventListener('agents', e => agents(JSON.parse(e.data)));
