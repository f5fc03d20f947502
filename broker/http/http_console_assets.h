/* http_console_assets.h - the web console's files as the build embeds them
 * (broker/console/embed.sh writes the table; http_console.c serves it). */
#ifndef LAKEHOUSE_HTTP_CONSOLE_ASSETS_H
#define LAKEHOUSE_HTTP_CONSOLE_ASSETS_H

struct console_asset {
    const char *path;              /* URL path, e.g. "/console/js/app.js" */
    const char *content_type;
    const char *etag;              /* quoted, as sent */
    const unsigned char *data, *data_end;
    const unsigned char *gz, *gz_end; /* the same bytes, gzip'd */
};

extern const struct console_asset console_assets[];
extern const unsigned console_asset_count;

#endif
