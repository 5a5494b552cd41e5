/* libFuzzer target for the namelist reader: any bytes must give either a configuration or
 * diagnostics, never a crash; a configuration that parses must write out and parse back to
 * itself. Build and run with tools/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/namelist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const invrg_nl_schema *schema = invrg_config_schema();
  invrg_config cfg, back;
  invrg_nl_result res;
  invrg_config_defaults(&cfg);
  if (!invrg_nl_result_init(&res, schema, "fuzz.nml")) return 0;
  int errors = invrg_nl_parse((const char *)data, size, &cfg, &res);
  FILE *sink = fopen("/dev/null", "w");
  invrg_nl_print_diagnostics(&res, sink);
  fclose(sink);
  invrg_nl_result_free(&res);
  if (errors == 0) {
    /* The written form of an accepted configuration reads back to the same values. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    invrg_nl_write(schema, &cfg, true, f);
    fclose(f);
    invrg_config_defaults(&back);
    invrg_nl_result_init(&res, schema, "written.nml");
    int again = invrg_nl_parse(text, len, &back, &res);
    invrg_nl_result_free(&res);
    if (again != 0 || memcmp(&cfg, &back, offsetof(invrg_config, input_text)) != 0) abort();
    free(text);
  }
  return 0;
}
