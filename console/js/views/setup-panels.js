// The body of each setup step: the guide's instructions, the fields it needs, the commands
// with the ids filled in, and the button that checks it. A secret typed here is sent once
// and the field emptied; the console never shows one back.
import { api, post } from '../api.js';
import { field, h, mount, when } from '../dom.js';
import { badge, busy, copyable, errorBox, facts, problemBox } from '../widgets.js';
import { mailboxPermissionLines, PERMISSIONS, servicePrincipalLines, smtpAuthLines } from './setup-steps.js';

const redirectUri = () => new URL('../v1/oauth/callback', document.baseURI).toString();

function input(ctx, name, attrs = {}) {
  return h('input', { type: 'text', name, value: ctx.state[name] ?? '', autocomplete: 'off', spellcheck: 'false', ...attrs,
    oninput: (e) => { ctx.state[name] = e.target.value.trim(); ctx.save(); } });
}

function commands(lines, label) {
  return h('div', { className: 'commands' }, lines.map((line, i) => copyable(line, `${label}, line ${i + 1}`)));
}

/** A button running a check; its answer (or error) lands in the step's result area and survives the re-render. */
function checkButton(ctx, step, text, run) {
  const button = h('button', { type: 'button' }, text);
  button.addEventListener('click', () => void busy(button, async () => {
    try {
      ctx.setOutcome(step, await run());
    } catch (err) {
      ctx.setOutcome(step, errorBox(err));
    }
    ctx.render();
  }));
  return button;
}

const resultArea = (ctx) => h('div', { className: 'result', id: 'step-result', 'aria-live': 'polite' }, ctx.outcome?.node ?? null);

function verifyAnswer(result) {
  if (result.ok) {
    return h('div', { className: 'ok-box' }, h('p', {}, h('strong', {}, 'Verified: '), result.flow === 'app_only'
      ? `a token was issued, valid until ${when(result.expiresAt)}.` : 'the authority answers (a delegated connection gets its token when the user signs in).'),
    result.roles.length ? h('p', {}, 'Roles in the token: ', result.roles.join(', ')) : null);
  }
  return h('div', {}, h('p', {}, h('strong', {}, 'Verify found problems:')), result.problems.map((p) => problemBox(p, { title: 'Problem' })));
}

function doctorAnswer(report) {
  return h('div', { className: report.ok ? 'ok-box' : '' },
    h('p', {}, h('strong', {}, report.ok ? 'The doctor found no problem.' : 'The doctor found problems:')),
    h('ul', { className: 'doctor' }, report.steps.map((s) => h('li', {}, badge(s.ok ? 'ok' : 'failed'), ` ${s.step.replaceAll('_', ' ')}: ${s.detail}`,
      !s.ok ? problemBox(s, { title: s.code ?? s.step }) : null))));
}

const verifyCheck = (ctx, step) => (ctx.state.connectionId
  ? checkButton(ctx, step, 'Check with verify', async () => verifyAnswer(await ctx.verify(step)))
  : h('p', { className: 'help' }, 'Checked by verify once the connection exists (step 3).'));

const doctorCheck = (ctx, step) => (ctx.state.mailboxId
  ? checkButton(ctx, step, 'Run the doctor', async () => doctorAnswer(await ctx.diagnose()))
  : h('p', { className: 'help' }, 'Checked by the doctor once the mailbox is added.'));

/** The credential fields: a secret's Value, or a certificate with its key (PEM). */
function credentialFields() {
  const kind = { value: 'secret' };
  const secret = h('input', { type: 'password', name: 'clientSecret', autocomplete: 'new-password', spellcheck: 'false' });
  const pem = h('textarea', { name: 'certificate', rows: '6', spellcheck: 'false' });
  const secretField = field('Client secret (the Value column)', secret, 'Not the Secret ID: Microsoft answers AADSTS7000215 to that.');
  const pemField = field('Certificate and private key (PEM)', pem, 'cat cert.pem key.pem: the certificate uploaded under Certificates & secrets, then its unencrypted RSA key.');
  pemField.hidden = true;
  const choose = (value) => {
    kind.value = value;
    secretField.hidden = value !== 'secret';
    pemField.hidden = value !== 'certificate';
  };
  const radios = h('fieldset', {}, h('legend', {}, 'Credential'),
    ['secret', 'certificate'].map((value) => h('label', { className: 'inline' },
      h('input', { type: 'radio', name: 'credentialKind', value, checked: value === 'secret', onchange: () => choose(value) }),
      value === 'secret' ? ' Client secret' : ' Certificate')));
  return {
    nodes: [radios, secretField, pemField],
    /** The request's credential, then the fields emptied: nothing secret stays on the page. */
    take() {
      const body = kind.value === 'secret' ? { clientSecret: secret.value.trim() } : { certificate: { pem: pem.value.trim() } };
      secret.value = '';
      pem.value = '';
      return (body.clientSecret || body.certificate?.pem) ? body : null;
    },
  };
}

function connectionFacts(connection) {
  const credential = connection.credential ?? { type: 'secret' };
  return facts([
    ['Connection', connection.id],
    ['Flow', connection.flow.replace('_', '-')],
    ['Authority', connection.authority],
    ['Credential', credential.type === 'certificate' ? `certificate ${credential.thumbprint ?? ''}` : credential.type],
    credential.expiresAt ? ['Credential expires', when(credential.expiresAt)] : null,
  ]);
}

export const PANELS = {
  app_registration(ctx) {
    const flowChoice = h('fieldset', {}, h('legend', {}, 'How will mailsync reach the mailboxes?'),
      [['app_only', 'App-only: mailsync signs in as the application (an Exchange admin gives it each mailbox)'],
        ['delegated', 'Delegated: each mailbox\'s user signs in once']].map(([value, text]) => h('label', { className: 'inline block' },
        h('input', { type: 'radio', name: 'flow', value, checked: ctx.state.flow === value, disabled: Boolean(ctx.state.connectionId),
          onchange: () => { ctx.state.flow = value; ctx.save(); ctx.render(); } }), ` ${text}`)));
    return h('div', {},
      h('ol', {},
        h('li', {}, 'Open the Microsoft Entra admin centre: App registrations → New registration.'),
        h('li', {}, 'Account type: single tenant for your own organisation; multi-tenant if users of other tenants will sign in.'),
        h('li', {}, 'Redirect URI: type Web, this address:'),
      ),
      copyable(redirectUri(), 'redirect URI'),
      h('p', {}, 'Register at the bottom of the dialog.'),
      flowChoice,
      h('p', { className: 'help' }, 'Changes in the Microsoft portals take tens of minutes to reach every server. The redirect URI is checked when a user signs in.'));
  },

  tenant_and_client_id(ctx) {
    const locked = Boolean(ctx.state.connectionId);
    const attrs = locked ? { readonly: true } : {};
    return h('div', {},
      h('p', {}, 'In the application\'s Overview, Essentials: the Application (client) ID and the Directory (tenant) ID.'),
      field('Connection name', input(ctx, 'name', attrs), 'For you: it names the connection in the console and the API.'),
      field('Directory (tenant) ID', input(ctx, 'tenantId', attrs), ctx.state.flow === 'app_only'
        ? 'Required for app-only connections.' : 'Required for a single-tenant app; leave empty for a multi-tenant one.'),
      field('Application (client) ID', input(ctx, 'clientId', attrs)),
      h('details', {}, h('summary', {}, 'Advanced: national cloud or another identity platform'),
        field('Authority host', input(ctx, 'authorityHost', { ...attrs, placeholder: 'https://login.microsoftonline.com' }), 'Leave empty for the global Microsoft cloud.')),
      locked ? h('p', { className: 'help' }, 'The connection exists: these ids are fixed. Start over to use others.') : null,
      verifyCheck(ctx, 'tenant_and_client_id'), resultArea(ctx));
  },

  client_secret(ctx) {
    const credential = credentialFields();
    const out = h('div');
    const create = h('button', { type: 'button', id: 'save-credential' }, ctx.state.connectionId ? 'Replace the credential and verify' : 'Create the connection and verify');
    create.addEventListener('click', () => void busy(create, async () => {
      const body = credential.take();
      if (!body) {
        mount(out, h('p', { className: 'problem', role: 'alert' }, 'Paste the secret\'s Value or the certificate first.'));
        return;
      }
      try {
        if (!ctx.state.connectionId) {
          const { name, flow, tenantId, clientId, authorityHost } = ctx.state;
          const connection = await post('/connections', {
            name: name || 'Office 365', flow, clientId, ...(tenantId ? { tenantId } : {}), ...(authorityHost ? { authorityHost } : {}), ...body,
          });
          ctx.state.connectionId = connection.id;
          ctx.save();
        } else {
          await api('PATCH', `/connections/${ctx.state.connectionId}`, body);
        }
        ctx.setOutcome('client_secret', verifyAnswer(await ctx.verify('client_secret')));
        ctx.render();
      } catch (err) {
        mount(out, errorBox(err));
      }
    }));
    const summary = h('div');
    if (ctx.state.connectionId) {
      api('GET', `/connections/${ctx.state.connectionId}`).then((c) => mount(summary, connectionFacts(c)), (err) => mount(summary, errorBox(err)));
    }
    return h('div', {},
      h('p', {}, 'Certificates & secrets → New client secret → Add, then copy the Value column (not the Secret ID). Or upload a certificate (its public part) under Certificates and give mailsync the certificate with its key:'),
      copyable('openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=mailsync" -keyout key.pem -out cert.pem', 'openssl command'),
      summary,
      credential.nodes, create, out,
      ctx.state.connectionId ? verifyCheck(ctx, 'client_secret') : null,
      resultArea(ctx),
      h('p', { className: 'help' }, 'The secret is sent once, encrypted at rest by the service, and never shown again.'));
  },

  api_permissions(ctx) {
    const app = ctx.state.flow === 'app_only';
    return h('div', {},
      h('p', {}, 'API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → ',
        app ? 'Application permissions' : 'Delegated permissions', ', then Add permissions:'),
      h('ul', {}, PERMISSIONS[ctx.state.flow].map((p) => h('li', {}, h('code', {}, p)))),
      verifyCheck(ctx, 'api_permissions'), resultArea(ctx));
  },

  admin_consent(ctx) {
    return h('div', {},
      h('p', {}, 'API permissions → Grant admin consent for your organisation (a Global or Privileged Role Administrator). The permissions\' status turns green.'),
      verifyCheck(ctx, 'admin_consent'), resultArea(ctx));
  },

  service_principal(ctx) {
    const lines = h('div');
    const show = () => mount(lines, commands(servicePrincipalLines(ctx.state.clientId, ctx.state.objectId), 'service principal command'));
    const objectId = input(ctx, 'objectId');
    objectId.addEventListener('input', show);
    show();
    return h('div', {},
      h('p', {}, 'In the Exchange admin centre, open Cloud Shell (PowerShell) as an organisation admin. The object id is the Enterprise application\'s: follow "Managed application in local directory" in the app\'s Essentials (not the app registration\'s object id).'),
      field('Object ID of the Enterprise application', objectId),
      lines,
      h('p', { className: 'help' }, 'A wrong id shows up only later, as a plain authentication failure: the doctor checks it with the IMAP login once the mailbox is added (next step).'),
      doctorCheck(ctx, 'service_principal'), resultArea(ctx));
  },

  mailbox_permission(ctx) {
    return mailboxStep(ctx, 'mailbox_permission');
  },

  user_sign_in(ctx) {
    return mailboxStep(ctx, 'user_sign_in');
  },

  smtp_auth(ctx) {
    return h('div', {},
      h('p', {}, 'Exchange admin centre → Mail flow → uncheck "Turn off SMTP AUTH protocol for your organization", or for this mailbox only:'),
      commands(smtpAuthLines(ctx.state.email), 'SMTP AUTH command'),
      h('p', { className: 'help' }, 'Security defaults also turn SMTP AUTH off.'),
      doctorCheck(ctx, 'smtp_auth'), resultArea(ctx));
  },

  done(ctx) {
    const out = h('div', { id: 'done-mailbox' });
    if (ctx.state.mailboxId) {
      api('GET', `/mailboxes/${ctx.state.mailboxId}`).then((m) => mount(out, facts([
        ['Mailbox', h('a', { href: `#/mailboxes/${m.id}` }, m.email)], ['State', badge(m.state)], ['Last poll', when(m.lastPollAt)], ['Next poll', when(m.nextPollAt)],
      ])), (err) => mount(out, errorBox(err)));
    }
    return h('div', {},
      h('p', {}, 'mailsync polls the mailbox and announces new mail to your webhooks. Mail already in the folder when the mailbox was added is not announced.'),
      out, doctorCheck(ctx, 'done'), resultArea(ctx));
  },
};

/** Adding the mailbox (app-only: after its permission; delegated: then its user signs in). */
function mailboxStep(ctx, step) {
  const app = ctx.state.flow === 'app_only';
  const lines = h('div');
  const show = () => mount(lines, app ? commands(mailboxPermissionLines(ctx.state.email, ctx.state.objectId), 'mailbox permission command') : null);
  const email = input(ctx, 'email', { type: 'email', readonly: Boolean(ctx.state.mailboxId) });
  email.addEventListener('input', show);
  show();
  const servers = serverFields(ctx);
  const out = h('div');
  const add = h('button', { type: 'button', id: 'add-mailbox' }, app ? 'Add the mailbox and run the doctor' : 'Add the mailbox');
  add.addEventListener('click', () => void busy(add, async () => {
    try {
      const mailbox = await post('/mailboxes', {
        connectionId: ctx.state.connectionId, email: ctx.state.email, ...servers.value(),
        ...(ctx.state.pollIntervalSeconds ? { pollIntervalSeconds: Number(ctx.state.pollIntervalSeconds) } : {}),
      });
      ctx.state.mailboxId = mailbox.id;
      ctx.save();
      ctx.setOutcome(step, app ? doctorAnswer(await ctx.diagnose()) : h('p', {}, 'Added. Now sign in as the mailbox\'s user.'));
      ctx.render();
    } catch (err) {
      mount(out, errorBox(err));
    }
  }));
  const signIn = h('div');
  if (!app && ctx.state.mailboxId) {
    const get = h('button', { type: 'button' }, 'Get the sign-in link');
    get.addEventListener('click', () => void busy(get, async () => {
      try {
        const { authorizeUrl } = await post(`/mailboxes/${ctx.state.mailboxId}/authorize`);
        mount(signIn, h('p', {}, h('a', { href: authorizeUrl, target: '_blank', rel: 'noreferrer noopener' }, 'Set up / Renew OAuth connection'),
          ' — open it in a private window, so the mailbox\'s user signs in (not you).'));
      } catch (err) {
        mount(signIn, errorBox(err));
      }
    }));
    mount(signIn, get);
  }
  return h('div', {},
    app ? h('p', {}, 'Give the service principal Full Access to the mailbox (its id is the Object ID of the previous step):') : h('p', {}, 'The mailbox to watch; its user signs in once through the link below.'),
    field('Mailbox address', email),
    lines,
    h('details', {}, h('summary', {}, 'Advanced: mail servers and poll interval'), servers.nodes),
    ctx.state.mailboxId ? null : [add, out],
    signIn,
    ctx.state.mailboxId ? doctorCheck(ctx, step) : null,
    resultArea(ctx));
}

/** IMAP/SMTP overrides (a local test server, another Exchange endpoint); empty means Microsoft's. */
function serverFields(ctx) {
  const saved = ctx.state.servers ?? {};
  const make = (proto, defaults) => {
    const host = h('input', { type: 'text', name: `${proto}Host`, value: saved[proto]?.host ?? '', placeholder: defaults.host, autocomplete: 'off' });
    const port = h('input', { type: 'number', name: `${proto}Port`, value: saved[proto]?.port ?? '', placeholder: String(defaults.port), min: '1', max: '65535' });
    const secure = h('input', { type: 'checkbox', name: `${proto}Secure`, checked: saved[proto]?.secure ?? defaults.secure });
    return { host, port, secure, nodes: [field(`${proto.toUpperCase()} host`, host), field(`${proto.toUpperCase()} port`, port),
      h('label', { className: 'inline block' }, secure, ` ${proto.toUpperCase()} over TLS from the start (off: STARTTLS)`)] };
  };
  const imap = make('imap', { host: 'outlook.office365.com', port: 993, secure: true });
  const smtp = make('smtp', { host: 'smtp.office365.com', port: 587, secure: false });
  const poll = h('input', { type: 'number', name: 'pollIntervalSeconds', value: ctx.state.pollIntervalSeconds ?? '', min: '1', placeholder: '60',
    oninput: (e) => { ctx.state.pollIntervalSeconds = e.target.value; ctx.save(); } });
  const read = (x) => (x.host.value.trim() ? { host: x.host.value.trim(), port: Number(x.port.value || x.port.placeholder), secure: x.secure.checked } : null);
  return {
    nodes: [...imap.nodes, ...smtp.nodes, field('Poll interval (seconds)', poll)],
    value() {
      const chosen = { imap: read(imap), smtp: read(smtp) };
      ctx.state.servers = chosen;
      ctx.save();
      return Object.fromEntries(Object.entries(chosen).filter(([, v]) => v));
    },
  };
}
