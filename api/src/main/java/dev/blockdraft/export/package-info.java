/** Writing drafters in other projects' layouts: DFlash's, which its reference code and serving engines load. */
package dev.blockdraft.export;
