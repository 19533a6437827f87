/* SPDX-License-Identifier: MIT */
/* regconf.c: containers-registries.conf(5) as containers/image reads it: which files, in
 * which order, and what a drop-in overrides; the checks of each [[registry]], mirror and
 * alias (with the file and line of what is wrong); the [[registry]] that applies to a
 * reference (the longest prefix, `*.example.com` for subdomains) and the endpoints it
 * gives, mirrors first; the candidates for a short name. The TOML is read by
 * regconf-toml.c. The v1 format ([registries.search] ...) is read as podman still does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lib/util.h"
#include "regconf-internal.h"
#include "regconf.h"

#define REGCONF_MAX_SIZE (1 << 20)

/* What one file sets, before it is merged over what earlier files set. */
struct parsed {
	struct registries_conf c;
	size_t n_aliases;
	bool search_set, mode_set;
};

/* The file being read, for messages. */
struct ctx {
	const char *name;
	struct diyc_error *err;
};

static int fail_at(struct ctx *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct ctx *x, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return diyc_error_plain(x->err, EINVAL, "%s:%d: %s", x->name, line, msg);
}

static int oom(struct ctx *x)
{
	return diyc_error(x->err, ENOMEM, "%s", x->name);
}

static void entry_free(struct registry_entry *e)
{
	free(e->prefix);
	free(e->location);
	free(e->file);
	for (size_t i = 0; i < e->n_mirrors; i++)
		free(e->mirrors[i].location);
	free(e->mirrors);
	memset(e, 0, sizeof(*e));
}

void regconf_free(struct registries_conf *c)
{
	strv_free(c->search);
	strv_free(c->alias_names);
	strv_free(c->alias_values);
	for (size_t i = 0; i < c->n_regs; i++)
		entry_free(&c->regs[i]);
	free(c->regs);
	strv_free(c->files);
	memset(c, 0, sizeof(*c));
}

/* table's key, marked as read; NULL when absent. */
static struct toml_node *take(struct toml_node *t, const char *key)
{
	struct toml_node *n = toml_get(t, key);
	if (n)
		n->used = true;
	return n;
}

static void warn_unused(struct ctx *x, const struct toml_node *t, const char *where)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->kids[i]->used)
			continue;
		_cleanup_free_ char *k = str_escape_dup(t->kids[i]->key);
		diyc_warn("%s:%d: unknown key `%s%s` is ignored", x->name, t->kids[i]->line, where, k ? k : "?");
	}
}

static int want(struct ctx *x, const struct toml_node *n, enum toml_type type, const char *where)
{
	static const char *const what[] = { "a string", "true or false", "an array of strings", "a table",
					     "an array of tables ([[...]])" };
	if (n->type == type)
		return 0;
	_cleanup_free_ char *k = str_escape_dup(n->key ? n->key : "");
	return fail_at(x, n->line, "`%s%s` must be %s", where, k ? k : "?", what[type]);
}

/* A string key of t into *out (borrowed; NULL when absent). */
static int get_str(struct ctx *x, struct toml_node *t, const char *key, const char *where, const char **out)
{
	struct toml_node *n = take(t, key);
	*out = NULL;
	if (!n)
		return 0;
	int r = want(x, n, TOML_STRING, where);
	if (r == 0)
		*out = n->str;
	return r;
}

static int get_bool(struct ctx *x, struct toml_node *t, const char *key, const char *where, bool *out)
{
	struct toml_node *n = take(t, key);
	if (!n)
		return 0;
	int r = want(x, n, TOML_BOOL, where);
	if (r == 0)
		*out = n->b;
	return r;
}

/* A location or prefix as c/image takes it: trailing slashes dropped, no URL scheme. */
static int location(struct ctx *x, int line, const char *what, const char *s, char **out)
{
	_cleanup_free_ char *e = str_escape_dup(s);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n == 0)
		return fail_at(x, line, "%s is empty", what);
	if (str_has_prefix(s, "http://") || str_has_prefix(s, "https://"))
		return fail_at(x, line, "%s `%s`: a URL scheme is not allowed, only host[:port][/path]", what, e ? e : "?");
	_cleanup_free_ char *v = strndup(s, n);
	if (!v)
		return oom(x);
	const char *p = reference_location_problem(v);
	if (p)
		return fail_at(x, line, "%s `%s` is not host[:port][/path]: %s", what, e ? e : "?", p);
	*out = steal_ptr(v);
	return 0;
}

static int wildcard_prefix(struct ctx *x, int line, const char *s)
{
	_cleanup_free_ char *e = str_escape_dup(s);
	if (strchr(s + 2, '/') || strchr(s + 2, ':') || strchr(s + 2, '*') || !reference_valid_domain(s + 2))
		return fail_at(x, line, "prefix `%s`: a wildcard prefix is `*.` and a host name, with no port or path",
			       e ? e : "?");
	return 0;
}

static int mirror_entry(struct ctx *x, struct toml_node *t, struct registry_entry *e)
{
	struct registry_mirror *m = &e->mirrors[e->n_mirrors];
	const char *loc = NULL, *pull = NULL;
	int r = get_str(x, t, "location", "registry.mirror.", &loc);
	if (r == 0)
		r = get_bool(x, t, "insecure", "registry.mirror.", &m->insecure);
	if (r == 0)
		r = get_str(x, t, "pull-from-mirror", "registry.mirror.", &pull);
	if (r < 0)
		return r;
	if (!loc)
		return fail_at(x, t->line, "a [[registry.mirror]] needs a location");
	r = location(x, toml_get(t, "location")->line, "mirror location", loc, &m->location);
	if (r < 0)
		return r;
	e->n_mirrors++;
	warn_unused(x, t, "registry.mirror.");
	if (!pull || !*pull)
		return 0;
	int line = toml_get(t, "pull-from-mirror")->line;
	if (e->mirror_by_digest_only)
		return fail_at(x, line, "pull-from-mirror cannot be set on a mirror of a registry with mirror-by-digest-only");
	if (!strcmp(pull, "all"))
		m->pull_from = PULL_FROM_MIRROR_ALL;
	else if (!strcmp(pull, "digest-only"))
		m->pull_from = PULL_FROM_MIRROR_DIGEST_ONLY;
	else if (!strcmp(pull, "tag-only"))
		m->pull_from = PULL_FROM_MIRROR_TAG_ONLY;
	else {
		_cleanup_free_ char *v = str_escape_dup(pull);
		return fail_at(x, line, "pull-from-mirror `%s` is none of all, digest-only, tag-only", v ? v : "?");
	}
	return 0;
}

static int mirrors(struct ctx *x, struct toml_node *t, struct registry_entry *e)
{
	struct toml_node *n = take(t, "mirror");
	if (!n)
		return 0;
	int r = want(x, n, TOML_TABLE_ARRAY, "registry.");
	if (r < 0)
		return r;
	e->mirrors = calloc(n->n ? n->n : 1, sizeof(*e->mirrors));
	if (!e->mirrors)
		return oom(x);
	for (size_t i = 0; i < n->n; i++) {
		r = mirror_entry(x, n->kids[i], e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One [[registry]] table into e. */
static int registry_entry(struct ctx *x, struct toml_node *t, struct registry_entry *e)
{
	const char *prefix = NULL, *loc = NULL;
	int r = get_str(x, t, "prefix", "registry.", &prefix);
	if (r == 0)
		r = get_str(x, t, "location", "registry.", &loc);
	if (r == 0)
		r = get_bool(x, t, "insecure", "registry.", &e->insecure);
	if (r == 0)
		r = get_bool(x, t, "blocked", "registry.", &e->blocked);
	if (r == 0)
		r = get_bool(x, t, "mirror-by-digest-only", "registry.", &e->mirror_by_digest_only);
	if (r < 0)
		return r;
	e->line = t->line;
	if (!(e->file = strdup(x->name)))
		return oom(x);
	if (loc && *loc) {
		r = location(x, toml_get(t, "location")->line, "location", loc, &e->location);
		if (r < 0)
			return r;
	}
	if (prefix && *prefix) {
		int line = toml_get(t, "prefix")->line;
		if (str_has_prefix(prefix, "*.")) {
			r = wildcard_prefix(x, line, prefix);
			if (r == 0 && e->location)
				r = fail_at(x, line, "a wildcard prefix cannot have a location");
			if (r == 0 && !(e->prefix = strdup(prefix)))
				r = oom(x);
		} else {
			r = location(x, line, "prefix", prefix, &e->prefix);
		}
		if (r < 0)
			return r;
	} else if (!e->location) {
		return fail_at(x, t->line, "a [[registry]] needs a prefix or a location");
	} else if (!(e->prefix = strdup(e->location))) {
		return oom(x);
	}
	r = mirrors(x, t, e);
	if (r == 0)
		warn_unused(x, t, "registry.");
	return r;
}

static int registries(struct ctx *x, struct toml_node *root, struct parsed *p)
{
	struct toml_node *n = take(root, "registry");
	if (!n)
		return 0;
	int r = want(x, n, TOML_TABLE_ARRAY, "");
	if (r < 0)
		return r;
	p->c.regs = calloc(n->n ? n->n : 1, sizeof(*p->c.regs));
	if (!p->c.regs)
		return oom(x);
	for (size_t i = 0; i < n->n; i++) {
		struct registry_entry *e = &p->c.regs[p->c.n_regs++];
		r = registry_entry(x, n->kids[i], e);
		if (r < 0)
			return r;
		for (size_t j = 0; j + 1 < p->c.n_regs; j++) {
			if (strcmp(p->c.regs[j].prefix, e->prefix))
				continue;
			_cleanup_free_ char *v = str_escape_dup(e->prefix);
			return fail_at(x, e->line, "a [[registry]] with prefix `%s` is already defined on line %d",
				       v ? v : "?", p->c.regs[j].line);
		}
	}
	return 0;
}

static int search_list(struct ctx *x, struct toml_node *n, const char *where, struct parsed *p)
{
	int r = want(x, n, TOML_ARRAY, where);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n->n; i++) {
		if (reference_valid_domain(n->strs[i]))
			continue;
		_cleanup_free_ char *v = str_escape_dup(n->strs[i]);
		return fail_at(x, n->line, "`%s%s`: `%s` is not a registry host[:port]", where, n->key, v ? v : "?");
	}
	strv_free(p->c.search);
	p->c.search = calloc(n->n + 1, sizeof(char *));
	if (!p->c.search)
		return oom(x);
	for (size_t i = 0; i < n->n; i++)
		if (!(p->c.search[i] = strdup(n->strs[i])))
			return oom(x);
	p->search_set = true;
	return 0;
}

static int short_name_mode(struct ctx *x, struct toml_node *root, struct parsed *p)
{
	const char *m;
	int r = get_str(x, root, "short-name-mode", "", &m);
	if (r < 0 || !m || !*m)
		return r;
	p->mode_set = true;
	if (!strcmp(m, "enforcing"))
		p->c.short_name_mode = SHORT_NAME_ENFORCING;
	else if (!strcmp(m, "permissive"))
		p->c.short_name_mode = SHORT_NAME_PERMISSIVE;
	else if (!strcmp(m, "disabled"))
		p->c.short_name_mode = SHORT_NAME_DISABLED;
	else {
		_cleanup_free_ char *v = str_escape_dup(m);
		return fail_at(x, toml_get(root, "short-name-mode")->line,
			       "short-name-mode `%s` is none of enforcing, permissive, disabled", v ? v : "?");
	}
	return 0;
}

/* Why an alias name or value is wrong, or NULL. value: the right-hand side. */
static const char *alias_problem(const char *s, bool value, struct diyc_error *err)
{
	struct image_reference r;
	if (reference_parse(s, &r, err) < 0)
		return value ? "it is not a valid image name" : "it is not a valid short name";
	const char *slash = strrchr(s, '/');
	if (strchr(slash ? slash : s, ':') || strchr(s, '@'))
		return "an alias takes neither tag nor digest";
	if (value && !r.qualified)
		return "the value must name its registry";
	if (!value && r.qualified)
		return "the name must be a short name, without a registry or localhost";
	return NULL;
}

static int aliases(struct ctx *x, struct toml_node *root, struct parsed *p)
{
	struct toml_node *t = take(root, "aliases");
	if (!t)
		return 0;
	int r = want(x, t, TOML_TABLE, "");
	if (r < 0)
		return r;
	p->c.alias_names = calloc(t->n + 1, sizeof(char *));
	p->c.alias_values = calloc(t->n + 1, sizeof(char *));
	if (!p->c.alias_names || !p->c.alias_values)
		return oom(x);
	for (size_t i = 0; i < t->n; i++) {
		struct toml_node *n = t->kids[i];
		r = want(x, n, TOML_STRING, "aliases.");
		if (r < 0)
			return r;
		struct diyc_error scratch = { 0 };
		const char *why = alias_problem(n->key, false, &scratch);
		if (!why && *n->str)
			why = alias_problem(n->str, true, &scratch);
		if (why) {
			_cleanup_free_ char *k = str_escape_dup(n->key), *v = str_escape_dup(n->str);
			return fail_at(x, n->line, "alias `%s` = `%s`: %s", k ? k : "?", v ? v : "?", why);
		}
		p->c.alias_names[p->n_aliases] = strdup(n->key);
		p->c.alias_values[p->n_aliases] = strdup(n->str);
		if (!p->c.alias_names[p->n_aliases] || !p->c.alias_values[p->n_aliases])
			return oom(x);
		p->n_aliases++;
	}
	return 0;
}

/* v1: [registries.search|insecure|block] registries = [...], as [[registry]] entries. */
static int v1_list(struct ctx *x, struct toml_node *t, const char *kind, struct parsed *p)
{
	struct toml_node *k = take(t, kind);
	char where[64];
	snprintf(where, sizeof(where), "registries.%s.", kind);
	int r = k ? want(x, k, TOML_TABLE, "registries.") : 0;
	struct toml_node *n = r == 0 && k ? take(k, "registries") : NULL;
	if (r < 0 || !n)
		return r;
	if (!strcmp(kind, "search"))
		return search_list(x, n, where, p);
	r = want(x, n, TOML_ARRAY, where);
	for (size_t i = 0; r == 0 && i < n->n; i++) {
		struct registry_entry *e = NULL;
		for (size_t j = 0; j < p->c.n_regs; j++)
			if (!strcmp(p->c.regs[j].prefix, n->strs[i]))
				e = &p->c.regs[j];
		if (!e) {
			struct registry_entry *v = realloc(p->c.regs, (p->c.n_regs + 1) * sizeof(*v));
			if (!v)
				return oom(x);
			p->c.regs = v;
			e = memset(&v[p->c.n_regs++], 0, sizeof(*v));
			e->line = n->line;
			if (!(e->file = strdup(x->name)))
				return oom(x);
			r = location(x, n->line, where, n->strs[i], &e->prefix);
		}
		if (!strcmp(kind, "insecure"))
			e->insecure = true;
		else
			e->blocked = true;
	}
	return r;
}

static int v1(struct ctx *x, struct toml_node *root, struct parsed *p)
{
	struct toml_node *t = take(root, "registries");
	if (!t)
		return 0;
	int r = want(x, t, TOML_TABLE, "");
	if (r < 0)
		return r;
	if (toml_get(root, "registry") || toml_get(root, "unqualified-search-registries"))
		return fail_at(x, t->line, "[registries.*] (version 1) and version 2 keys cannot be mixed in one file");
	static const char *const kinds[] = { "search", "insecure", "block" };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		r = v1_list(x, t, kinds[i], p);
		if (r < 0)
			return r;
	}
	return 0;
}

static int from_tree(struct ctx *x, struct toml_node *root, struct parsed *p)
{
	struct toml_node *n = take(root, "unqualified-search-registries");
	int r = n ? search_list(x, n, "", p) : 0;
	if (r == 0)
		r = short_name_mode(x, root, p);
	if (r == 0)
		r = aliases(x, root, p);
	if (r == 0)
		r = registries(x, root, p);
	if (r == 0)
		r = v1(x, root, p);
	if (r < 0)
		return r;
	/* keys of podman's that do not concern pulling: read, not used */
	take(root, "credential-helpers");
	take(root, "additional-layer-store-auth-helper");
	warn_unused(x, root, "");
	return 0;
}

/* Sets name = value in c's aliases (value "" erases it, as a drop-in may). */
static int alias_set(struct registries_conf *c, const char *name, const char *value)
{
	size_t n = 0, i;
	while (c->alias_names && c->alias_names[n])
		n++;
	for (i = 0; i < n && strcmp(c->alias_names[i], name); i++)
		;
	if (i < n) {
		free(c->alias_names[i]);
		free(c->alias_values[i]);
		memmove(&c->alias_names[i], &c->alias_names[i + 1], (n - i) * sizeof(char *));
		memmove(&c->alias_values[i], &c->alias_values[i + 1], (n - i) * sizeof(char *));
		n--;
	}
	if (!*value)
		return 0;
	size_t nn = n, nv = n;
	int r = strv_push(&c->alias_names, &nn, strdup(name));
	if (r == 0 && (r = strv_push(&c->alias_values, &nv, strdup(value))) < 0) {
		free(c->alias_names[--nn]);
		c->alias_names[nn] = NULL;
	}
	return r;
}

/* What p sets over what c had: the lists replaced, aliases one by one, registries by prefix. */
static int merge(struct registries_conf *c, struct parsed *p)
{
	if (p->search_set) {
		strv_free(c->search);
		c->search = steal_ptr(p->c.search);
	}
	if (p->mode_set)
		c->short_name_mode = p->c.short_name_mode;
	for (size_t i = 0; i < p->n_aliases; i++) {
		int r = alias_set(c, p->c.alias_names[i], p->c.alias_values[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->c.n_regs; i++) {
		struct registry_entry *e = &p->c.regs[i], *old = NULL;
		for (size_t j = 0; j < c->n_regs; j++)
			if (!strcmp(c->regs[j].prefix, e->prefix))
				old = &c->regs[j];
		if (!old) {
			struct registry_entry *v = realloc(c->regs, (c->n_regs + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			c->regs = v;
			old = &v[c->n_regs++];
		} else {
			entry_free(old);
		}
		*old = *e;
		memset(e, 0, sizeof(*e));
	}
	return 0;
}

int regconf_parse(struct registries_conf *c, const char *text, size_t len, const char *name, struct diyc_error *err)
{
	struct ctx x = { .name = name, .err = err };
	struct toml_node root = { 0 };
	struct parsed p = { 0 };
	int r = toml_parse(text, len, name, &root, err);
	if (r == 0)
		r = from_tree(&x, &root, &p);
	toml_free(&root);
	size_t nf = 0;
	while (r == 0 && c->files && c->files[nf])
		nf++;
	if (r == 0 && (r = strv_push(&c->files, &nf, strdup(name))) < 0)
		diyc_error(err, -r, "%s", name);
	if (r == 0 && (r = merge(c, &p)) < 0)
		diyc_error(err, -r, "%s", name);
	regconf_free(&p.c);
	return r;
}

static int load_file(struct registries_conf *c, const char *path, struct diyc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, REGCONF_MAX_SIZE, &text, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r == -EFBIG)
		return diyc_error_plain(err, EFBIG, "%s: larger than %d bytes", path, REGCONF_MAX_SIZE);
	if (r < 0)
		return diyc_error(err, -r, "reading %s", path);
	return regconf_parse(c, text, len, path, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf of dir in lexical order. */
static int load_dir(struct registries_conf *c, const char *dir, struct diyc_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : diyc_error(err, errno, "reading %s", dir);
	_cleanup_strv_ char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".conf") || de->d_name[0] == '.')
			continue;
		if (strv_push(&names, &n, xasprintf("%s/%s", dir, de->d_name)) < 0)
			return diyc_error(err, ENOMEM, "reading %s", dir);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		int r = load_file(c, names[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int regconf_load_paths(struct registries_conf *c, const char *conf, const char *const *dirs, struct diyc_error *err)
{
	memset(c, 0, sizeof(*c));
	int r = conf ? load_file(c, conf, err) : 0;
	for (size_t i = 0; r == 0 && dirs && dirs[i]; i++)
		r = load_dir(c, dirs[i], err);
	if (r < 0)
		regconf_free(c);
	return r;
}

int regconf_load(struct registries_conf *c, struct diyc_error *err)
{
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	if (env && *env)
		return regconf_load_paths(c, env, NULL, err);
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *cfg = xdg && *xdg ? strdup(xdg) : home && *home ? xasprintf("%s/.config", home) : NULL;
	_cleanup_free_ char *user = cfg ? xasprintf("%s/containers/registries.conf", cfg) : NULL;
	_cleanup_free_ char *user_d = cfg ? xasprintf("%s/containers/registries.conf.d", cfg) : NULL;
	if (cfg && (!user || !user_d))
		return diyc_error(err, ENOMEM, "registries.conf");
	const char *conf = user && access(user, F_OK) == 0 ? user : "/etc/containers/registries.conf";
	const char *dirs[] = { "/etc/containers/registries.conf.d", user_d, NULL };
	return regconf_load_paths(c, conf, dirs, err);
}

/* How much of repo (DOMAIN/PATH) prefix matches, as containers/image counts it: the whole
 * prefix followed by the end or `/`; for `*.example.com`, a host ending in `.example.com`
 * (up to the host's end). -1: no match. */
static ssize_t prefix_match(const char *repo, const char *prefix)
{
	size_t rn = strlen(repo), pn = strlen(prefix);
	if (str_has_prefix(prefix, "*.")) {
		size_t hn = strcspn(repo, "/");
		const char *colon = memchr(repo, ':', hn);
		if (colon && !memchr(repo, ']', hn))
			hn = colon - repo;
		else if (memchr(repo, ']', hn))
			hn = (const char *)memchr(repo, ']', hn) - repo + 1;
		const char *suffix = prefix + 1;
		size_t sn = pn - 1;
		if (hn <= sn || strncasecmp(repo + hn - sn, suffix, sn))
			return -1;
		return hn;
	}
	if (rn < pn || strncmp(repo, prefix, pn) || (rn > pn && repo[pn] != '/'))
		return -1;
	return pn;
}

/* The [[registry]] for repo, the longest prefix; *mlen: how much of repo it matched. */
static const struct registry_entry *find_entry(const struct registries_conf *c, const char *repo, size_t *mlen)
{
	const struct registry_entry *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < c->n_regs; i++) {
		ssize_t m = prefix_match(repo, c->regs[i].prefix);
		size_t pl = strlen(c->regs[i].prefix);
		if (m >= 0 && (!best || pl > best_len)) {
			best = &c->regs[i];
			best_len = pl;
			*mlen = m;
		}
	}
	return best;
}

/* loc followed by what repo has after the matched mlen bytes, as host and path. */
static int rewrite(const struct registry_entry *e, const char *loc, const char *repo, size_t mlen,
		   struct pull_endpoint *ep, struct diyc_error *err)
{
	_cleanup_free_ char *s = xasprintf("%s%s", loc, repo + mlen);
	if (!s)
		return diyc_error(err, ENOMEM, "%s", repo);
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	if (!slash || !slash[1] || hn > REF_DOMAIN_MAX || strlen(slash + 1) > REF_PATH_MAX || reference_location_problem(s)) {
		_cleanup_free_ char *l = str_escape_dup(loc), *x = str_escape_dup(s);
		return diyc_error_plain(err, EINVAL, "%s:%d: location `%s` makes `%s` of `%s`, which is not a repository",
					e->file, e->line, l ? l : "?", x ? x : "?", repo);
	}
	memcpy(ep->host, s, hn);
	ep->host[hn] = '\0';
	snprintf(ep->path, sizeof(ep->path), "%s", slash + 1);
	return 0;
}

static bool mirror_applies(const struct registry_entry *e, const struct registry_mirror *m, bool digested)
{
	if (e->mirror_by_digest_only)
		return digested;
	return m->pull_from == PULL_FROM_MIRROR_ALL || (m->pull_from == PULL_FROM_MIRROR_DIGEST_ONLY) == digested;
}

int regconf_endpoints(const struct registries_conf *c, const struct image_reference *r, struct pull_endpoint **out,
		      size_t *n, struct diyc_error *err)
{
	char repo[REF_DOMAIN_MAX + REF_PATH_MAX + 2];
	reference_repo(r, repo, sizeof(repo));
	size_t mlen = 0;
	const struct registry_entry *e = find_entry(c, repo, &mlen);
	*out = NULL;
	*n = 0;
	if (e && e->blocked)
		return diyc_error_plain(err, EACCES, "pulling from `%s` is blocked by %s:%d (prefix `%s`)", repo, e->file,
					e->line, e->prefix);
	_cleanup_free_ struct pull_endpoint *v = calloc((e ? e->n_mirrors : 0) + 1, sizeof(*v));
	if (!v)
		return diyc_error(err, ENOMEM, "%s", repo);
	size_t k = 0;
	for (size_t i = 0; e && i < e->n_mirrors; i++) {
		if (!mirror_applies(e, &e->mirrors[i], r->digest[0] != '\0'))
			continue;
		int ret = rewrite(e, e->mirrors[i].location, repo, mlen, &v[k], err);
		if (ret < 0)
			return ret;
		v[k].insecure = e->mirrors[i].insecure;
		v[k++].mirror = true;
	}
	if (e && e->location) {
		int ret = rewrite(e, e->location, repo, mlen, &v[k], err);
		if (ret < 0)
			return ret;
	} else {
		snprintf(v[k].host, sizeof(v[k].host), "%s", r->domain);
		snprintf(v[k].path, sizeof(v[k].path), "%s", r->path);
	}
	v[k++].insecure = e && e->insecure;
	*out = steal_ptr(v);
	*n = k;
	return 0;
}

bool regconf_insecure(const struct registries_conf *c, const char *host)
{
	size_t mlen;
	const struct registry_entry *e = find_entry(c, host, &mlen);
	return e && e->insecure;
}

/* The alias of short (a name without registry, tag or digest), or NULL. */
static const char *alias_of(const struct registries_conf *c, const char *name)
{
	for (size_t i = 0; c->alias_names && c->alias_names[i]; i++)
		if (!strcmp(c->alias_names[i], name))
			return c->alias_values[i];
	return NULL;
}

/* The candidate on registry domain for short name path, with r's tag and digest. */
static int candidate(const struct image_reference *r, const char *domain, const char *path, struct image_reference *out,
		     struct diyc_error *err)
{
	bool library = !strcmp(domain, "docker.io") && !strchr(path, '/');
	memset(out, 0, sizeof(*out));
	if (strlen(domain) > REF_DOMAIN_MAX || strlen(path) + (library ? 8 : 0) > REF_PATH_MAX)
		return diyc_error_plain(err, ENAMETOOLONG, "`%s/%s` is too long for a repository name", domain, path);
	strcpy(out->domain, domain);
	snprintf(out->path, sizeof(out->path), "%s%s", library ? "library/" : "", path);
	strcpy(out->tag, r->tag);
	strcpy(out->digest, r->digest);
	out->qualified = true;
	return 0;
}

static int from_alias(const struct image_reference *r, const char *value, struct image_reference **out, size_t *n,
		      struct diyc_error *err)
{
	struct image_reference a;
	int ret = reference_parse(value, &a, err);
	if (ret < 0)
		return diyc_error_wrap(err, "the alias of `%s`", r->path);
	*out = malloc(sizeof(**out));
	if (!*out)
		return diyc_error(err, ENOMEM, "%s", value);
	ret = candidate(r, a.domain, a.path, *out, err);
	if (ret < 0) {
		free(steal_ptr(*out));
		return ret;
	}
	*n = 1;
	return 0;
}

static int ambiguous(const char *name, struct image_reference *v, size_t k, struct diyc_error *err)
{
	char list[700] = "";
	size_t o = 0;
	for (size_t i = 0; i < k && o < sizeof(list); i++) {
		char repo[REF_DOMAIN_MAX + REF_PATH_MAX + 2];
		reference_repo(&v[i], repo, sizeof(repo));
		o += snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", repo);
	}
	return diyc_error_plain(err, EINVAL,
				"short name `%s` is ambiguous (short-name-mode is enforcing and there is no terminal to "
				"ask on): it may be %s; name the registry, or set an alias in registries.conf",
				name, list);
}

int regconf_candidates(const struct registries_conf *c, const struct image_reference *r, bool tty,
		       struct image_reference **out, size_t *n, struct diyc_error *err)
{
	char name[REF_PATH_MAX + 1];
	*out = NULL;
	*n = 0;
	if (r->qualified) {
		if (!(*out = malloc(sizeof(**out))))
			return diyc_error(err, ENOMEM, "%s", r->path);
		**out = *r;
		*n = 1;
		return 0;
	}
	reference_short_path(r, name, sizeof(name));
	const char *alias = c->short_name_mode != SHORT_NAME_DISABLED ? alias_of(c, name) : NULL;
	if (alias && *alias)
		return from_alias(r, alias, out, n, err);
	static char *const docker[] = { "docker.io", NULL };
	char *const *search = c->search && c->search[0] ? c->search : docker;
	size_t k = 0;
	while (search[k])
		k++;
	_cleanup_free_ struct image_reference *v = calloc(k, sizeof(*v));
	if (!v)
		return diyc_error(err, ENOMEM, "%s", name);
	for (size_t i = 0; i < k; i++) {
		int ret = candidate(r, search[i], name, &v[i], err);
		if (ret < 0)
			return ret;
	}
	if (k > 1 && c->short_name_mode == SHORT_NAME_ENFORCING && !tty)
		return ambiguous(name, v, k, err);
	*out = steal_ptr(v);
	*n = k;
	return 0;
}
