// Types of build-check.js (plain JavaScript, run before anything is compiled), for its tests.
export declare const BUILD_STAMP: string;
export declare const SOURCE_DIRS: string[];
export declare const BUILD_CONFIGS: string[];
export declare function newestSourceMtime(root: string): number;
export declare function buildIsFresh(root: string): boolean;
