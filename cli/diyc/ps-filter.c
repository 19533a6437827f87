/* SPDX-License-Identifier: MIT */
/* ps-filter.c: `ps --filter KEY=VALUE` as docker reads it: a value per flag, several flags
 * of one key are alternatives, different keys must all hold. The keys are docker's that a
 * diyc container has; the others (id, before, since, network, publish, expose, health,
 * isolation, is-task) are refused by name rather than ignored. */
#include <string.h>
#include "image/image.h"
#include "lib/util.h"
#include "options.h"
#include "ps-filter.h"
#include "volumes-cli.h"

static const char *const key_names[PS_FILTER_KEYS] = {
	[PS_FILTER_NAME] = "name", [PS_FILTER_LABEL] = "label", [PS_FILTER_STATUS] = "status",
	[PS_FILTER_EXITED] = "exited", [PS_FILTER_ANCESTOR] = "ancestor", [PS_FILTER_VOLUME] = "volume",
};

/* docker's states; diyc's containers are in the first three only */
static const char *const states[] = { "created", "running", "exited", "restarting", "removing", "paused", "dead" };

static int check_value(const char *cmd, enum ps_filter_key k, const char *v)
{
	uint64_t n;
	if (k == PS_FILTER_STATUS) {
		for (size_t i = 0; i < ARRAY_SIZE(states); i++)
			if (!strcmp(v, states[i]))
				return 0;
		return usage_error(cmd, "invalid filter `status=%s`: use created, running, exited, restarting, removing, "
				   "paused or dead", v);
	}
	if (k == PS_FILTER_EXITED && parse_u64(v, 255, &n) < 0)
		return usage_error(cmd, "invalid filter `exited=%s`: give an exit code from 0 to 255", v);
	return 0;
}

int ps_filter_add(const char *cmd, struct ps_filters *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return usage_error(cmd, "invalid filter `%s`: expected KEY=VALUE (as name=web or volume=data)", arg);
	size_t klen = (size_t)(eq - arg);
	for (int k = 0; k < PS_FILTER_KEYS; k++) {
		if (strlen(key_names[k]) != klen || strncmp(arg, key_names[k], klen))
			continue;
		if (!eq[1])
			return usage_error(cmd, "invalid filter `%s`: the value is empty", arg);
		int r = check_value(cmd, (enum ps_filter_key)k, eq + 1);
		if (r)
			return r;
		if (strv_push(&f->values[k], &f->n[k], strdup(eq + 1)) < 0)
			return usage_error(cmd, "out of memory");
		return 0;
	}
	return usage_error(cmd, "unknown filter `%.*s`: diyc's containers can be filtered by name, label, status, "
			   "exited, ancestor and volume", (int)klen, arg);
}

bool ps_filters_want_all(const struct ps_filters *f)
{
	return f->n[PS_FILTER_STATUS] || f->n[PS_FILTER_EXITED];
}

/* label=KEY or label=KEY=VALUE */
static bool has_label(char **labels, const char *want)
{
	size_t klen = strcspn(want, "=");
	for (char **l = labels; l && *l; l++) {
		if (!strchr(want, '=') ? (!strncmp(*l, want, klen) && ((*l)[klen] == '=' || !(*l)[klen]))
				       : !strcmp(*l, want))
			return true;
	}
	return false;
}

/* ancestor=NAME[:TAG] or an id prefix: the image the container was made from */
static bool from_image(const struct container_config *cfg, const char *want)
{
	char a[512], b[512];
	struct diyc_error ignore = { 0 };
	if (!strcmp(cfg->image, want))
		return true;
	if (image_ref_normalize(cfg->image, a, sizeof(a), &ignore) == 0 &&
	    image_ref_normalize(want, b, sizeof(b), &ignore) == 0 && !strcmp(a, b))
		return true;
	const char *id = str_has_prefix(want, "sha256:") ? want + 7 : want;
	return strlen(id) >= 4 && strspn(id, "0123456789abcdef") == strlen(id) && str_has_prefix(cfg->image_id, id);
}

/* volume=NAME, or a bind mount's host path, or where it is mounted (docker's rule) */
static bool uses_volume(const struct container_config *cfg, const char *want)
{
	if (cli_config_uses_volume(cfg, want))
		return true;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct mount_entry *m = &cfg->mounts[i];
		if (!strcmp(m->target, want) || (m->kind == MOUNT_BIND && !strcmp(m->source, want)))
			return true;
	}
	return false;
}

static bool match_one(enum ps_filter_key k, const struct container *c, const char *v)
{
	const struct container_config *cfg = &c->cfg;
	switch (k) {
	case PS_FILTER_NAME: return strstr(c->d.name, v) != NULL;
	case PS_FILTER_STATUS: return !strcmp(container_status_name(c->st.status), v);
	case PS_FILTER_EXITED: {
		uint64_t n;
		return c->st.status == STATUS_EXITED && parse_u64(v, 255, &n) == 0 && (uint64_t)c->st.exit_code == n;
	}
	case PS_FILTER_LABEL: return c->have_config && has_label(cfg->labels, v);
	case PS_FILTER_ANCESTOR: return c->have_config && from_image(cfg, v);
	case PS_FILTER_VOLUME: return c->have_config && uses_volume(cfg, v);
	case PS_FILTER_KEYS: break;
	}
	return false;
}

bool ps_filters_match(const struct ps_filters *f, const struct container *c)
{
	for (int k = 0; k < PS_FILTER_KEYS; k++) {
		bool any = f->n[k] == 0;
		for (size_t i = 0; i < f->n[k] && !any; i++)
			any = match_one((enum ps_filter_key)k, c, f->values[k][i]);
		if (!any)
			return false;
	}
	return true;
}

void ps_filters_free(struct ps_filters *f)
{
	for (int k = 0; k < PS_FILTER_KEYS; k++)
		strv_free(f->values[k]);
	memset(f, 0, sizeof(*f));
}
