/** Minimal types for svg-to-pdfkit 0.1.8 (the package ships none): draws an SVG into a pdfkit document. */
declare module 'svg-to-pdfkit' {
  interface SVGtoPDFOptions {
    /** Viewport size in points; by default the page size. */
    width?: number;
    height?: number;
    /** Overrides the SVG's own preserveAspectRatio, e.g. 'xMaxYMin meet'. */
    preserveAspectRatio?: string;
    /** Treat SVG units as PDF points instead of pixels. */
    assumePt?: boolean;
    /** Called with a message for every unsupported SVG feature. */
    warningCallback?: (message: string) => void;
    precision?: number;
  }

  function SVGtoPDF(doc: PDFKit.PDFDocument, svg: string, x?: number, y?: number, options?: SVGtoPDFOptions): void;

  export = SVGtoPDF;
}
