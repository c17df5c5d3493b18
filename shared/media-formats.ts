/**
 * The files Longshot writes, as the protocol names them: one definition for the request's validators (protocol.ts)
 * and the encoder (daemon/media, which knows no protocol).
 */

/** Output containers: H.264 MP4, a MOV (see {@link MOV_CODECS}), or a PNG sequence in a folder. */
export const OUTPUT_FORMATS = ['mp4', 'mov', 'png'] as const;
/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Codecs of a `mov`: ProRes 422 (the default), ProRes 422 HQ, ProRes 4444, or DNxHR HQ. */
export const MOV_CODECS = ['prores-422', 'prores-422-hq', 'prores-4444', 'dnxhr-hq'] as const;
/** One of {@link MOV_CODECS}. */
export type MovCodec = (typeof MOV_CODECS)[number];
