// Handing freed heap memory back to the operating system.
//
// glibc keeps what a process frees in its arenas for reuse and returns it to the system only
// when the top of an arena is free, so after a burst (peers that each held megabytes of buffers
// and left) the resident size stays at the peak although the memory is unused. malloc_trim
// releases the free pages of every arena. It walks the arenas (milliseconds with hundreds of MB
// free), so callers use it after such bursts, not on a hot path.
#pragma once

namespace qtc {

/// Returns free heap pages to the system (malloc_trim(0) under glibc; nothing elsewhere).
/// True if any memory was released.
bool release_free_memory();

} // namespace qtc
