/**
 * The lab's Application Load Balancer stand-in: Debian 12's HAProxy 2.6 on the `alb` host,
 * configured from the RECORDED load balancer, listeners and target group
 * (scripts/lab/replay/record.ts `loadBalancers`). Sources: docs/verified-against.md, "ElastiCache
 * and ALB stand-ins".
 *
 * Modelled:
 * - listeners: each recorded port; HTTP forwards to the target group, a `redirect` action answers
 *   with its status code; an HTTPS listener terminates TLS with a lab-CA certificate for the domain;
 * - targets at `<address>:<target group port>`, round robin (the ALB's default algorithm);
 * - health checks as the target group's: GET <path> on the health check port every <interval> s,
 *   healthy after <healthyThreshold> passes, unhealthy after <unhealthyThreshold> failures, the
 *   matcher's codes, and the ALB's Host header for checks (`<target IP>:<health check port>`),
 *   which needs one check per target: each target's check runs in a backend of its own that the
 *   serving backend's server tracks;
 * - fail-open: when every target is unhealthy the ALB routes to all of them; here every target is
 *   also a backup server without checks, used all together (`option allbackups`) only when no
 *   checked server is up (the backups carry no cookie, so stickiness pauses while failing open);
 * - lb_cookie stickiness: an `AWSALB` cookie inserted by the balancer, ignored after the recorded
 *   duration (`maxlife`); a cookie naming an unhealthy target is ignored (HAProxy without
 *   `option persist`), as the ALB picks a new target then;
 * - X-Forwarded-For appended, X-Forwarded-Proto and X-Forwarded-Port set to the listener's;
 *   the Host header without a port on ports 80/443 and with it on other ports;
 * - the idle timeout on both connections, the ALB's 10 s connect timeout to targets;
 * - deregistration delay: `deregistration(target)` gives the runtime API commands (maintenance at
 *   once, its remaining sessions ended after the delay);
 * - registration: a target the Auto Scaling group launches later (scale-out) is in the file but in
 *   maintenance (`disabled`) until `registration(target)`'s commands make it ready, its health
 *   forced down first: no traffic while it is "initial" (registered, not yet passing checks).
 *
 * Not modelled: a newly registered target serves after <healthyThreshold> passing checks (HAProxy's
 * `rise` from a forced-down health) where the ALB needs one ("After your target is registered, it
 * must pass one health check to be considered healthy"): up to (threshold - 1) intervals later;
 * the check timeout is HAProxy's connect (≤ timeout connect) plus read
 * (`timeout check`) rather than one bound on the whole check; HAProxy starts a server as up
 * while the ALB waits for its first passing check; HAProxy appends its own X-Forwarded-For line
 * instead of extending the client's (the same list for HTTP); invalid header fields are refused
 * (400) rather than dropped (`dropInvalidHeaderFields`); the stickiness cookie is not encrypted;
 * desync mitigation, zones, cross-zone balancing, access logs.
 */
import { InvalidArgsError, problem, type ArgProblem } from "../../components/shared/errors";
import type { LabListener, LabLoadBalancer, LabRecording, LabTargetGroup } from "./replay/record";

/** The ALB's default idle timeout when the program sets none (application-load-balancers, "Connection idle timeout"). */
export const ALB_DEFAULT_IDLE_TIMEOUT_SECONDS = 60;
/** The ALB gives up connecting to a target after 10 s (load-balancer-troubleshooting, HTTP 504). */
export const ALB_TARGET_CONNECT_TIMEOUT_SECONDS = 10;
/** The ALB's generated stickiness cookie (sticky-sessions, duration-based stickiness). */
export const ALB_STICKINESS_COOKIE = "AWSALB";
/** Debian's haproxy.cfg path and admin socket (the runtime API the deregistration commands use). */
export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
export const HAPROXY_ADMIN_SOCKET = "/run/haproxy/admin.sock";

export interface AlbTarget {
    /** The lab host (web1, web2): the server's name in HAProxy. */
    name: string;
    address: string;
    /** Registered with the target group from the start (default true); false: launched later, see `registration`. */
    registered?: boolean;
}

export interface AlbStandinOptions {
    /** Address the listeners bind (default every address). */
    bindAddress?: string;
    /** For an HTTPS listener: the PEM (certificate, then key) HAProxy serves, and the domain it is issued for. */
    tls?: { pemPath: string; domain: string };
}

export interface AlbStandin {
    loadBalancer: string;
    targetGroup: string;
    haproxyCfg: string;
    /** For an HTTPS listener: what to ask the lab CA for (`issueCert(dir, name, {dnsNames, ips})`). */
    cert?: { name: string; dnsNames: string[]; ips: string[] };
    deregistrationDelaySeconds: number;
    /** Runtime API commands (`socat stdio <admin socket>`) that deregister a target as the ALB does. */
    deregistration(target: string): { afterSeconds: number; command: string }[];
    /** Runtime API commands that register a target (one given with `registered: false`) as the ALB does. */
    registration(target: string): string[];
}

type HealthCheck = Required<Pick<NonNullable<LabTargetGroup["healthCheck"]>, "path" | "matcher" | "interval" | "timeout" | "healthyThreshold" | "unhealthyThreshold">> & { port: number };

/** The ALB's defaults for a target group's health check (target-group-health-checks, "Health check settings"). */
const HEALTH_CHECK_DEFAULTS = { path: "/", matcher: "200", interval: 30, timeout: 5, healthyThreshold: 5, unhealthyThreshold: 2 };

/** The matcher's codes ("200", "200,202", "200-299") as one HAProxy `http-check expect` rule. */
export function expectRule(matcher: string): string {
    if (/^\d{3}$/.test(matcher)) return `http-check expect status ${matcher}`;
    const codes: number[] = [];
    for (const part of matcher.split(",")) {
        const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part.trim());
        if (!m) throw new InvalidArgsError("ALB stand-in", "healthCheck", [problem("matcher", `"${matcher}" is not a code, a list or a range of HTTP codes`)]);
        const from = Number(m[1]);
        const to = Number(m[2] ?? m[1]);
        for (let c = from; c <= to; c++) codes.push(c);
    }
    return `http-check expect rstatus ^(${codes.join("|")})$`;
}

function healthCheck(tg: LabTargetGroup): HealthCheck {
    const h = tg.healthCheck ?? {};
    const port = h.port === undefined || h.port === "traffic-port" ? tg.port! : Number(h.port);
    return {
        path: h.path ?? HEALTH_CHECK_DEFAULTS.path,
        matcher: h.matcher ?? HEALTH_CHECK_DEFAULTS.matcher,
        interval: h.interval ?? HEALTH_CHECK_DEFAULTS.interval,
        timeout: h.timeout ?? HEALTH_CHECK_DEFAULTS.timeout,
        healthyThreshold: h.healthyThreshold ?? HEALTH_CHECK_DEFAULTS.healthyThreshold,
        unhealthyThreshold: h.unhealthyThreshold ?? HEALTH_CHECK_DEFAULTS.unhealthyThreshold,
        port,
    };
}

/** The recording's one load balancer and the one target group its listeners forward to, checked for what the stand-in models. */
function recorded(recording: LabRecording): { lb: LabLoadBalancer; tg: LabTargetGroup } {
    const lbs = recording.loadBalancers ?? [];
    if (lbs.length !== 1) {
        throw new InvalidArgsError("ALB stand-in", recording.stack, [problem("loadBalancers", `the recording has ${lbs.length} load balancers; the stand-in models exactly one (record the lab stack again with this record.ts)`)]);
    }
    const lb = lbs[0];
    const problems: ArgProblem[] = [];
    if (lb.loadBalancerType !== undefined && lb.loadBalancerType !== "application") problems.push(problem("loadBalancerType", `${lb.loadBalancerType}: the stand-in models an application load balancer`));
    if (lb.targetGroups.length !== 1) problems.push(problem("targetGroups", `the listeners forward to ${lb.targetGroups.length} target groups; the stand-in models one`));
    if (lb.listeners.length === 0) problems.push(problem("listeners", "the load balancer has no listener"));
    for (const l of lb.listeners) {
        if (l.defaultActions.length !== 1) problems.push(problem("defaultActions", `listener ${l.name}: ${l.defaultActions.length} default actions; the stand-in models one`));
        for (const a of l.defaultActions) if (a.type !== "forward" && a.type !== "redirect") problems.push(problem("defaultActions", `listener ${l.name}: action ${a.type} is not modelled (forward, redirect)`));
        if (l.protocol !== "HTTP" && l.protocol !== "HTTPS") problems.push(problem("protocol", `listener ${l.name}: ${l.protocol} is not an ALB listener protocol`));
    }
    const tg = lb.targetGroups[0];
    if (tg && tg.protocol !== undefined && tg.protocol !== "HTTP") problems.push(problem("protocol", `target group ${tg.name}: ${tg.protocol} to targets is not modelled (HTTP)`));
    if (tg && tg.port === undefined) problems.push(problem("port", `target group ${tg.name} has no port`));
    if (problems.length > 0) throw new InvalidArgsError("ALB stand-in", lb.name, problems);
    return { lb, tg };
}

const isDefaultPort = (port: number) => port === 80 || port === 443;

function frontend(l: LabListener, backend: string, opts: AlbStandinOptions): string[] {
    const port = l.port ?? (l.protocol === "HTTPS" ? 443 : 80);
    const https = l.protocol === "HTTPS";
    const proto = https ? "https" : "http";
    const bind = `${opts.bindAddress ?? ""}:${port}`;
    const tlsPolicy = https ? ` ssl crt ${opts.tls!.pemPath} ssl-min-ver TLSv1.2 alpn http/1.1` : "";
    const lines = [`frontend ${l.name}`, `    bind ${bind}${tlsPolicy}`];
    const action = l.defaultActions[0];
    if (action.type === "redirect") {
        const r = action.redirect ?? {};
        const code = Number(/^HTTP_(\d{3})$/.exec(r.statusCode ?? "")?.[1] ?? 301);
        const toProto = (r.protocol ?? "#{protocol}").replace("#{protocol}", proto).toLowerCase();
        const toPort = r.port === undefined || r.port === "#{port}" ? String(port) : r.port;
        // The ALB keeps host, path and query unless the action changes them (load-balancer-listeners, "Redirect actions").
        const hostPart = toPort === (toProto === "https" ? "443" : "80") ? "%[req.hdr(host),field(1,:)]" : `%[req.hdr(host),field(1,:)]:${toPort}`;
        lines.push(`    http-request redirect location ${toProto}://${hostPart}%[capture.req.uri] code ${code}`);
        return lines;
    }
    lines.push(
        // X-Forwarded-For: the client's address appended; -Proto/-Port: the listener's.
        "    option forwardfor",
        `    http-request set-header X-Forwarded-Proto ${proto}`,
        `    http-request set-header X-Forwarded-Port ${port}`,
        // Host: on 80/443 the ALB removes a port the client sent, on other ports it appends the listener's.
        isDefaultPort(port) ? "    http-request replace-header Host ^([^:]+):[0-9]+$ \\1" : `    http-request replace-header Host ^([^:]+)$ \\1:${port}`,
        `    default_backend ${backend}`,
    );
    return lines;
}

/**
 * haproxy.cfg for the `alb` host from the recording, with `targets` as the registered instances.
 * Throws InvalidArgsError for a recording the stand-in cannot model.
 */
export function albStandin(recording: LabRecording, targets: AlbTarget[], opts: AlbStandinOptions = {}): AlbStandin {
    const { lb, tg } = recorded(recording);
    const problems: ArgProblem[] = [];
    if (targets.length === 0) problems.push(problem("targets", "give at least one target (the web hosts)"));
    for (const t of targets) {
        if (!/^[A-Za-z0-9_.-]+$/.test(t.name)) problems.push(problem("targets", `"${t.name}" is not a usable server name (letters, digits, . _ -)`));
        if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(t.address)) problems.push(problem("targets", `${t.name}: "${t.address}" is not an IPv4 address`));
    }
    if (new Set(targets.map((t) => t.name)).size !== targets.length) problems.push(problem("targets", "target names repeat"));
    if (lb.listeners.some((l) => l.protocol === "HTTPS") && !opts.tls) problems.push(problem("tls", "the recording has an HTTPS listener: give tls.pemPath (lab-CA certificate and key) and tls.domain"));
    if (problems.length > 0) throw new InvalidArgsError("ALB stand-in", lb.name, problems);

    const hc = healthCheck(tg);
    const idle = lb.idleTimeout ?? ALB_DEFAULT_IDLE_TIMEOUT_SECONDS;
    const sticky = tg.stickiness?.enabled === true && tg.stickiness.type === "lb_cookie";
    const checkBackend = (target: string) => `${tg.name}-check-${target}`;
    const lines: string[] = [
        `# The lab's stand-in for the ALB ${lb.name} (scripts/lab/alb-standin.ts, from the recorded inputs; do not edit).`,
        "global",
        "    log /dev/log local0",
        "    chroot /var/lib/haproxy",
        `    stats socket ${HAPROXY_ADMIN_SOCKET} mode 660 level admin`,
        "    user haproxy",
        "    group haproxy",
        "    daemon",
        "",
        "defaults alb",
        "    mode http",
        "    log global",
        "    option httplog",
        `    timeout connect ${ALB_TARGET_CONNECT_TIMEOUT_SECONDS}s`,
        // One connection attempt per request: the ALB answers 504 when it cannot connect within the
        // timeout; HAProxy's default (3 retries) would hold a request 40 s on a dead target.
        "    retries 0",
        // The ALB's idle timeout applies to the client's connection and to the target's.
        `    timeout client ${idle}s`,
        `    timeout server ${idle}s`,
        `    timeout http-keep-alive ${idle}s`,
        "",
    ];
    for (const l of lb.listeners) lines.push(...frontend(l, tg.name, opts), "");
    lines.push(`backend ${tg.name}`, "    balance roundrobin", "    option allbackups");
    if (sticky) lines.push(`    cookie ${ALB_STICKINESS_COOKIE} insert indirect nocache maxlife ${tg.stickiness!.cookieDuration ?? 86400}s`);
    const cookie = (t: AlbTarget) => (sticky ? ` cookie ${t.name}` : "");
    // not registered yet: in the file, in maintenance (no checks, no traffic, not failed open to)
    const unregistered = (t: AlbTarget) => (t.registered === false ? " disabled" : "");
    for (const t of targets) lines.push(`    server ${t.name} ${t.address}:${tg.port} track ${checkBackend(t.name)}/${t.name}${cookie(t)}${unregistered(t)}`);
    // Fail-open: every target again, unchecked, used together only when no checked server is up.
    // No cookie on them: a cookie naming a backup (always up) would keep a client on a target
    // after it turned unhealthy while others are healthy; stickiness pauses during fail-open instead.
    for (const t of targets) lines.push(`    server ${t.name}-failopen ${t.address}:${tg.port} backup${unregistered(t)}`);
    lines.push("");
    for (const t of targets) {
        lines.push(
            `backend ${checkBackend(t.name)}`,
            "    option httpchk",
            // The ALB's check request carries Host: <target private IP>:<health check port>.
            `    http-check send meth GET uri ${hc.path} ver HTTP/1.1 hdr Host ${t.address}:${hc.port}`,
            `    ${expectRule(hc.matcher)}`,
            `    timeout connect ${hc.timeout}s`,
            `    timeout check ${hc.timeout}s`,
            `    server ${t.name} ${t.address}:${tg.port} check port ${hc.port} inter ${hc.interval}s rise ${hc.healthyThreshold} fall ${hc.unhealthyThreshold}${unregistered(t)}`,
            "",
        );
    }
    const delay = tg.deregistrationDelay ?? 300;
    const known = (target: string) => {
        if (!targets.some((t) => t.name === target)) throw new InvalidArgsError("ALB stand-in", lb.name, [problem("target", `${target} is not a target of the stand-in (${targets.map((t) => t.name).join(", ")})`)]);
    };
    return {
        loadBalancer: lb.name,
        targetGroup: tg.name,
        haproxyCfg: lines.join("\n"),
        ...(opts.tls ? { cert: { name: "alb", dnsNames: [opts.tls.domain], ips: opts.bindAddress ? [opts.bindAddress] : [] } } : {}),
        deregistrationDelaySeconds: delay,
        deregistration: (target: string) => {
            known(target);
            // The ALB sends a deregistered target no new request at once, sticky clients included
            // (HAProxy's `drain` would still take those: `maint` does not), lets in-flight requests
            // run for the delay, then ends what is left.
            return [
                { afterSeconds: 0, command: `set server ${tg.name}/${target} state maint` },
                { afterSeconds: 0, command: `set server ${tg.name}/${target}-failopen state maint` },
                { afterSeconds: delay, command: `shutdown sessions server ${tg.name}/${target}` },
                { afterSeconds: delay, command: `shutdown sessions server ${tg.name}/${target}-failopen` },
            ];
        },
        registration: (target: string) => {
            known(target);
            // The ALB sends a new target nothing before it passes a health check ("initial").
            // HAProxy 2.6 takes a server leaving maintenance as UP at once ("UP/READY
            // (leaving forced maintenance)") and ignores a health change while it is in
            // maintenance (both measured): so the checked server leaves maintenance first, its
            // health is forced down, and only then the serving server that tracks it is made ready.
            return [
                `set server ${checkBackend(target)}/${target} state ready`,
                `set server ${checkBackend(target)}/${target} health down`,
                `set server ${tg.name}/${target} state ready`,
                `set server ${tg.name}/${target}-failopen state ready`,
            ];
        },
    };
}
