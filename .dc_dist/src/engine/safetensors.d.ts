export type SafetensorsDtype = 'F32' | 'I32' | 'F64' | 'I64';
export type SafetensorsData = Float32Array | Int32Array | Float64Array | BigInt64Array;
export interface SafetensorsTensor {
    dtype: SafetensorsDtype;
    shape: number[];
    data: SafetensorsData;
}
export interface SafetensorsFile {
    tensors: Record<string, SafetensorsTensor>;
    metadata: Record<string, string>;
}
/** Builds the padded header bytes for the given tensors (exported for the byte-layout test). */
export declare function encodeHeader(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>, where?: string): Buffer;
export declare function writeSafetensors(path: string, tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): void;
/** Reads and validates a safetensors file. Every tensor gets its own (aligned) memory. */
export declare function readSafetensors(path: string): SafetensorsFile;
