# The layers of ssmkit, lowest first, and which layers each may include. Shared by the build
# (SsmkitLayers.cmake) and the stand-alone check (check_layers.cmake), so there is one table.
#   io        torch-free readers/writers, configuration files
#   util      tensor argument checks, strict JSON fields, threads, shape tracing
#   ops       functional ops with autograd (CPU loops in kernels/cpu, CUDA in kernels/cuda)
#   nn        blocks; models: whole models and their registry
#   data      datasets and batch sources; metrics: pure metric functions
#   train     the Trainer, steps, optimizers, schedules, checkpoints
#   report    what is written for a person or a viewer; cli: flags <-> config, run_main
set(SSMKIT_LAYERS io util ops nn models data metrics train report cli)
set(SSMKIT_LAYER_DEPS_io "")
set(SSMKIT_LAYER_DEPS_util io)
set(SSMKIT_LAYER_DEPS_ops util io)
set(SSMKIT_LAYER_DEPS_nn ops util io)
set(SSMKIT_LAYER_DEPS_models nn ops util io)
set(SSMKIT_LAYER_DEPS_data models nn ops util io)
set(SSMKIT_LAYER_DEPS_metrics models nn ops util io)
set(SSMKIT_LAYER_DEPS_train data metrics models nn ops util io)
set(SSMKIT_LAYER_DEPS_report train data metrics models nn ops util io)
set(SSMKIT_LAYER_DEPS_cli report train data metrics models nn ops util io)

# Fails with one message per upward or sideways include found under <root>/src/<layer> and
# <root>/include/ssmkit/<layer>: '#include "ssmkit/<other>/..."' where <other> is not <layer> nor
# one of its dependencies.
function(ssmkit_find_layer_violations root out_var)
  set(_violations "")
  foreach(_layer IN LISTS SSMKIT_LAYERS)
    set(_allowed ${_layer} ${SSMKIT_LAYER_DEPS_${_layer}})
    file(GLOB_RECURSE _files "${root}/src/${_layer}/*" "${root}/include/ssmkit/${_layer}/*")
    foreach(_file IN LISTS _files)
      file(STRINGS "${_file}" _includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"ssmkit/[a-z_]+/")
      foreach(_line IN LISTS _includes)
        string(REGEX REPLACE ".*\"ssmkit/([a-z_]+)/.*" "\\1" _target "${_line}")
        if(NOT _target IN_LIST _allowed)
          file(RELATIVE_PATH _rel "${root}" "${_file}")
          string(REPLACE ";" " " _may "${_allowed}")
          list(APPEND _violations "${_rel}: layer '${_layer}' includes '${_target}' (${_layer} may include: ${_may})")
        endif()
      endforeach()
    endforeach()
  endforeach()
  set(${out_var} "${_violations}" PARENT_SCOPE)
endfunction()
